import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../src/constants.js';
import { DbrError, parseDuration } from '../src/index.js';

describe('parseDuration', () => {
  it('reads a string without a unit as milliseconds, like a number', () => {
    expect(parseDuration('500' as never, 'wait')).toBe(500);
    expect(parseDuration('1.5' as never, 'wait')).toBe(1.5);
    expect(parseDuration(500, 'wait')).toBe(500);
    expect(parseDuration('5s', 'wait')).toBe(5000);
    expect(parseDuration('infinite', 'wait')).toBe(Infinity);
  });

  it('still rejects what is not a duration, quoting it', () => {
    expect(() => parseDuration('soon' as never, 'wait')).toThrow(/wait "soon" is not a duration/);
    expect(() => parseDuration('-1' as never, 'wait')).toThrow(/is not a duration/);
    expect(() => parseDuration('5 parsecs' as never, 'wait')).toThrow(/is not a duration/);
  });

  it('gives the same answers once it has seen more strings than it keeps parsed', () => {
    for (let i = 0; i < 1000; i++) expect(parseDuration(`${i}ms` as never, 'wait')).toBe(i);
    expect(parseDuration('5s', 'wait')).toBe(5000);
    expect(parseDuration('5s', 'wait')).toBe(5000);
    expect(() => parseDuration('soon' as never, 'wait')).toThrow(/wait "soon" is not a duration/);
    expect(() => parseDuration({} as never, 'wait')).toThrow(/is not a duration/);
  });
});

describe('DbrError.fromCode', () => {
  it('adds the generic hint to the generic description', () => {
    const err = DbrError.fromCode(ErrorCode.DBR_ERR_TIMEOUT, 'get "x" from "ns"');
    expect(err.message).toMatch(/^get "x" from "ns": Operation timed out \(DBR_ERR_TIMEOUT\)\. No value arrived in time/);
    expect(err.parts).toMatchObject({ what: 'get "x" from "ns"', description: 'Operation timed out', hint: expect.stringMatching(/No value arrived/) });
  });

  it("does not repeat what the library's own message says", () => {
    const detail = "namespace 'ns' has 2 attached clients; it will be deleted when the last one detaches";
    const err = DbrError.fromCode(ErrorCode.DBR_ERR_NSBUSY, 'delete namespace "ns"', detail);
    expect(err.message).toBe(`delete namespace "ns": ${detail} (DBR_ERR_NSBUSY).`);
    expect(err.parts?.hint).toBeUndefined();
  });
});
