/**
 * The file of `get|read --out`. A get consumes its value, so the file is opened before the value is taken:
 * a bad path then costs nothing. Should writing still fail afterwards (disk full, I/O error), the taken value
 * is saved elsewhere rather than lost.
 * @module
 */
import { constants } from 'node:fs';
import { type FileHandle, mkdtemp, open, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { TsdbrError } from '../errors.js';
import { UsageError } from './exit-codes.js';
import { writeValue } from './io.js';

/** Writing the value failed after it was taken (exit code 1); the message says where the value went. */
export class OutputWriteError extends TsdbrError {}

/** A value that is not printable text was not written to the terminal (exit code 1). */
export class NotPrintableError extends TsdbrError {}

function cannotOpen(path: string, err: unknown): UsageError {
  const code = (err as NodeJS.ErrnoException).code;
  const reason =
    code === 'ENOENT' ? `its directory ${dirname(path)} does not exist; create it first`
    : code === 'EISDIR' ? 'it is a directory; name a file'
    : code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? `it cannot be written (${code}); choose a writable path`
    : `it cannot be opened (${(err as Error).message})`;
  return new UsageError(`--out ${path}: ${reason}. Nothing was taken.`);
}

/** The --out file, opened (and created if missing) but not truncated until the value is there. */
export class OutputFile {
  private written = false;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly created: boolean,
  ) {}

  /** Opens the file for writing; a UsageError naming the problem if that is not possible. */
  static async open(path: string): Promise<OutputFile> {
    try {
      return new OutputFile(path, await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o666), true);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw cannotOpen(path, err);
    }
    try {
      return new OutputFile(path, await open(path, constants.O_WRONLY), false);
    } catch (err) {
      throw cannotOpen(path, err);
    }
  }

  /** Replaces the file's content with the value (devices and pipes are written to as they are). */
  async write(value: Buffer): Promise<void> {
    if ((await this.handle.stat()).isFile()) await this.handle.truncate(0);
    await this.handle.writeFile(value);
    this.written = true;
  }

  /** Closes the file; removes it if this command created it and wrote nothing into it. */
  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    if (this.created && !this.written) await unlink(this.path).catch(() => undefined);
  }
}

async function saveToTempFile(value: Buffer): Promise<string | undefined> {
  try {
    const file = join(await mkdtemp(join(tmpdir(), 'dbr-rescue-')), 'value');
    await writeFile(file, value, { mode: 0o600 });
    return file;
  } catch {
    return undefined;
  }
}

/**
 * Keeps a value that was taken but could not be written to --out. The API cannot put it back at the head of
 * its tuple (and a template get does not say which name it came from), so it goes to a private file in the
 * temporary directory; if even that fails, to stdout, which still beats losing it. Returns the error to
 * report, naming where the value is.
 */
export async function rescueTakenValue(out: OutputFile, value: Buffer, err: unknown): Promise<OutputWriteError> {
  const failure = `writing --out ${out.path} failed after the value was taken (${(err as Error).message})`;
  const saved = await saveToTempFile(value);
  if (saved !== undefined) return new OutputWriteError(`${failure}; the value is saved in ${saved}.`);
  writeValue(value);
  return new OutputWriteError(`${failure}; the value was written to stdout instead.`);
}

/**
 * The error for a value not printed because stdout is a terminal and the value has control bytes or is not
 * UTF-8. A read leaves it in place; a taken value is saved to a private file (as hex on the terminal if even
 * that fails, which no terminal interprets).
 */
export async function refuseOnTerminal(op: 'get' | 'read', value: Buffer): Promise<NotPrintableError> {
  const why = `the value (${value.length} bytes) has control bytes or is not UTF-8, so it is not printed to a terminal; use --out FILE, or a pipe (e.g. | xxd)`;
  if (op === 'read') return new NotPrintableError(`${why}.`);
  const saved = await saveToTempFile(value);
  if (saved !== undefined) return new NotPrintableError(`${why}; the value was taken and is saved in ${saved}.`);
  process.stdout.write(`${value.toString('hex')}\n`);
  return new NotPrintableError(`${why}; the value was taken and is printed above as hex.`);
}
