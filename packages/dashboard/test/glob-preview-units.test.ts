import { describe, expect, it } from 'vitest';
import { escapeGlob, globMatch } from '../src/server/glob.js';
import { buildPreview, hexDump } from '../src/server/preview.js';
import { paced } from '../src/server/state.js';
import { queueOf } from '@tsdbr/worker';
import { normalizeProgress } from '../src/server/progress.js';

describe('globs as the Data Broker reads them', () => {
  it('matches *, ?, classes and escapes', () => {
    expect(globMatch('job:*', 'job:1')).toBe(true);
    expect(globMatch('job:?', 'job:12')).toBe(false);
    expect(globMatch('[a-c]x', 'bx')).toBe(true);
    expect(globMatch('[!a-c]x', 'bx')).toBe(false);
    expect(globMatch('a\\*b', 'a*b')).toBe(true);
    expect(globMatch('a\\*b', 'axb')).toBe(false);
    expect(globMatch(escapeGlob('q:{x}[1]*'), 'q:{x}[1]*')).toBe(true);
    expect(globMatch('*', 'multi\nline')).toBe(true);
  });
});

describe('previews', () => {
  const base = { namespace: 'n', name: 'x', index: 0, format: 'auto' as const, schemas: [] };

  it('drops a multi-byte character cut by the truncation and still calls it text', () => {
    const bytes = Buffer.from('é'.repeat(40), 'utf8'); // 80 bytes
    const p = buildPreview({ ...base, value: { bytes, size: bytes.length }, previewBytes: 17 });
    expect(p).toMatchObject({ detected: 'text', truncated: true, size: 80 });
    expect(p.content).toBe('é'.repeat(8));
  });

  it('calls control characters binary', () => {
    const p = buildPreview({ ...base, value: { bytes: Buffer.from('a\u0001b'), size: 3 }, previewBytes: 64 });
    expect(p.detected).toBe('hex');
  });

  it('dumps hex with offsets and ASCII', () => {
    const [first, second] = hexDump(Buffer.from('Hello, world!\n\u0000AB')).split('\n');
    expect(first).toBe('00000000  48 65 6c 6c 6f 2c 20 77  6f 72 6c 64 21 0a 00 41  |Hello, world!..A|');
    expect(second?.startsWith('00000010  42 ')).toBe(true);
    expect(second?.endsWith('|B|')).toBe(true);
    expect(second?.indexOf('|')).toBe(first?.indexOf('|')); // the ASCII column lines up
  });

  it('shows JSON that a schema would reject, with the issues', () => {
    const schema = { safeParse: () => ({ success: false as const, error: { issues: [{ path: ['a', 0], message: 'bad' }] } }) };
    const p = buildPreview({ ...base, value: { bytes: Buffer.from('{"a":[1]}'), size: 9 }, previewBytes: 64, schemas: [{ name: 'x', schema }] });
    expect(p.schema).toEqual({ label: 'x', valid: false, issues: [{ path: 'a.0', message: 'bad' }] });
  });
});

describe('worker protocol helpers', () => {
  it('reads queue names and progress values', () => {
    expect(queueOf('q:{render}:pending:hi')).toBe('render');
    expect(queueOf('queue:x')).toBeUndefined();
    expect(normalizeProgress(0.5)).toEqual({ progress: 0.5, message: null });
    expect(normalizeProgress({ done: 3, total: 4, message: 'tile 3' })).toEqual({ progress: 0.75, message: 'tile 3' });
    expect(normalizeProgress(undefined)).toEqual({ progress: null, message: null });
  });

  it('paces slow work to a tenth of the time', () => {
    expect(paced(1000, 20)).toBe(1000);
    expect(paced(1000, 500)).toBe(5000);
    expect(paced(1000, 1e9)).toBe(60_000);
  });
});
