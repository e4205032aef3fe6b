/**
 * The only module that touches koffi: it loads libdbr (or the library named by DBR_LIBRARY) and declares its
 * C functions. Everything above talks to {@link NativeLibrary}.
 *
 * Buffers and integer out-parameters are declared `void *` so that Node Buffers and typed arrays pass
 * zero-copy; pointers come back as BigInt (koffi 3), NULL as null.
 * @module
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import koffi, { type LibraryHandle } from 'koffi';
import { LibraryLoadError } from './errors.js';

/** An opaque native pointer: a namespace handle, an iterator or a completion queue. */
export type NativePointer = bigint;

/** A declared C function: call it directly, or with `.async(...args, callback)` on koffi's worker threads. */
export type Fn<A extends unknown[], R> = ((...args: A) => R) & {
  async: (...args: [...A, (err: unknown, result: R) => void]) => void;
};
type Str = string | null;
type Ptr = NativePointer | null;
type Mem = ArrayBufferView | null;

/** The Data Broker v0.7 ABI: present in every implementation. */
export interface DataBrokerAbi {
  dbrCreate: Fn<[Str, number, Ptr], Ptr>;
  dbrDelete: Fn<[Str], number>;
  dbrAttach: Fn<[Str], Ptr>;
  dbrDetach: Fn<[Ptr], number>;
  dbrQuery: Fn<[Ptr, Mem, bigint], number>;
  dbrAddUnits: Fn<[Ptr, Ptr], number>;
  dbrRemoveUnits: Fn<[Ptr, Ptr], number>;
  dbrPut: Fn<[Ptr, Mem, number, Str, Str], number>;
  dbrPutA: Fn<[Ptr, Mem, number, Str, Str], number>;
  dbrGet: Fn<[Ptr, Mem, Mem, Str, Str, Str, number], number>;
  dbrGetA: Fn<[Ptr, Mem, Mem, Str, Str, Str], number>;
  dbrRead: Fn<[Ptr, Mem, Mem, Str, Str, Str, number], number>;
  dbrReadA: Fn<[Ptr, Mem, Mem, Str, Str, Str], number>;
  dbrTestKey: Fn<[Ptr, Str], number>;
  dbrDirectory: Fn<[Ptr, Str, Str, number, Mem, number, Mem], number>;
  dbrMove: Fn<[Ptr, Str, Str, Str, Ptr, Str], number>;
  dbrRemove: Fn<[Ptr, Str, Str, Str], number>;
  dbrTest: Fn<[number], number>;
  dbrCancel: Fn<[number], number>;
  dbrIterator: Fn<[Ptr, Ptr, Str, Str, Mem], Ptr>;
}

/** libdbr's dbrx extensions (libdbr_ext.h). */
export interface DbrxExtensions {
  dbrxAbiVersion: Fn<[], number>;
  dbrxBackend: Fn<[], string>;
  dbrxLastError: Fn<[], string>;
  dbrxLastErrorCode: Fn<[], number>;
  dbrxQueueOpen: Fn<[], Ptr>;
  dbrxQueueFd: Fn<[Ptr], number>;
  dbrxQueueDrain: Fn<[Ptr, Mem, number], number>;
  dbrxQueueDrainTake: Fn<[Ptr, Mem, Mem, Mem, Mem, number, number], number>;
  dbrxQueueClose: Fn<[Ptr], number>;
  dbrxQueueCork: Fn<[Ptr, number], number>;
  dbrxReadAsync: Fn<[Ptr, Ptr, Str, Str, number, number], number>;
  dbrxGetAsync: Fn<[Ptr, Ptr, Str, Str, number, number], number>;
  dbrxPutAsync: Fn<[Ptr, Ptr, Mem, number, Str], number>;
  dbrxPutManyAsync: Fn<[Ptr, Ptr, Mem, number], number>;
  dbrxMoveValueAsync: Fn<[Ptr, Ptr, Str, Ptr, Str, number, number], number>;
  dbrxTake: Fn<[number, Mem, Mem], number>;
  dbrxRead: Fn<[Ptr, Mem, Mem, Str, Str, number, number], number>;
  dbrxGet: Fn<[Ptr, Mem, Mem, Str, Str, number, number], number>;
  dbrxMoveValue: Fn<[Ptr, Str, Ptr, Str, Mem, Mem, number, number], number>;
  dbrxPutMany: Fn<[Ptr, Mem, number], number>;
  dbrxPutIfAbsent: Fn<[Ptr, Mem, number, Str, Mem], number>;
  dbrxPopPut: Fn<[Ptr, Str, Str, Mem, number], number>;
  dbrxPopPutAsync: Fn<[Ptr, Ptr, Str, Str, Mem, number], number>;
  dbrxMoveManyAsync: Fn<[Ptr, Ptr, Str, Str], number>;
  dbrxPopPutManyAsync: Fn<[Ptr, Ptr, Mem, number], number>;
  dbrxCount: Fn<[Ptr, Str, Mem], number>;
  dbrxStat: Fn<[Ptr, Mem], number>;
  dbrxNamespaceName: Fn<[Ptr, Mem, number], number>;
  dbrxNamespaces: Fn<[Str, number, Mem, number, Mem], number>;
  dbrxIteratorFree: Fn<[Ptr], number>;
  dbrxIteratorNextMany: Fn<[Ptr, Mem, Str, number, Mem, number, Mem], number>;
}

/** A loaded library: the ABI always, the extensions when the library is libdbr. */
export interface NativeLibrary {
  readonly path: string;
  readonly abi: DataBrokerAbi;
  readonly ext: DbrxExtensions | undefined;
}

const ABI_DECLARATIONS: Record<keyof DataBrokerAbi, string> = {
  dbrCreate: 'void *dbrCreate(const char *name, int level, void *groups)',
  dbrDelete: 'int dbrDelete(const char *name)',
  dbrAttach: 'void *dbrAttach(const char *name)',
  dbrDetach: 'int dbrDetach(void *h)',
  dbrQuery: 'int dbrQuery(void *h, void *state, uint64_t mask)',
  dbrAddUnits: 'int dbrAddUnits(void *h, void *units)',
  dbrRemoveUnits: 'int dbrRemoveUnits(void *h, void *units)',
  dbrPut: 'int dbrPut(void *h, void *buf, int64_t size, const char *name, const char *group)',
  dbrPutA: 'int64_t dbrPutA(void *h, void *buf, int64_t size, const char *name, const char *group)',
  dbrGet: 'int dbrGet(void *h, void *buf, void *size, const char *name, const char *tmpl, const char *group, int flags)',
  dbrGetA: 'int64_t dbrGetA(void *h, void *buf, void *size, const char *name, const char *tmpl, const char *group)',
  dbrRead: 'int dbrRead(void *h, void *buf, void *size, const char *name, const char *tmpl, const char *group, int flags)',
  dbrReadA: 'int64_t dbrReadA(void *h, void *buf, void *size, const char *name, const char *tmpl, const char *group)',
  dbrTestKey: 'int dbrTestKey(void *h, const char *name)',
  dbrDirectory:
    'int dbrDirectory(void *h, const char *tmpl, const char *group, unsigned int count, void *buf, size_t size, void *ret_size)',
  dbrMove: 'int dbrMove(void *src, const char *src_group, const char *name, const char *tmpl, void *dst, const char *dst_group)',
  dbrRemove: 'int dbrRemove(void *h, const char *group, const char *name, const char *tmpl)',
  dbrTest: 'int dbrTest(int64_t tag)',
  dbrCancel: 'int dbrCancel(int64_t tag)',
  dbrIterator: 'void *dbrIterator(void *h, void *it, const char *group, const char *tmpl, void *name_out)',
};

const EXT_DECLARATIONS: Record<keyof DbrxExtensions, string> = {
  dbrxAbiVersion: 'int dbrxAbiVersion()',
  dbrxBackend: 'const char *dbrxBackend()',
  dbrxLastError: 'const char *dbrxLastError()',
  dbrxLastErrorCode: 'int dbrxLastErrorCode()',
  dbrxQueueOpen: 'void *dbrxQueueOpen()',
  dbrxQueueFd: 'int dbrxQueueFd(void *q)',
  dbrxQueueDrain: 'int dbrxQueueDrain(void *q, void *tags, int max)',
  dbrxQueueDrainTake: 'int dbrxQueueDrainTake(void *q, void *tags, void *statuses, void *sizes, void *buf, int64_t bufsize, int max)',
  dbrxQueueClose: 'int dbrxQueueClose(void *q)',
  dbrxQueueCork: 'int dbrxQueueCork(void *q, int corked)',
  dbrxReadAsync: 'int64_t dbrxReadAsync(void *q, void *h, const char *name, const char *tmpl, int flags, int64_t timeout_ms)',
  dbrxGetAsync: 'int64_t dbrxGetAsync(void *q, void *h, const char *name, const char *tmpl, int flags, int64_t timeout_ms)',
  dbrxPutAsync: 'int64_t dbrxPutAsync(void *q, void *h, void *buf, int64_t size, const char *name)',
  dbrxPutManyAsync: 'int64_t dbrxPutManyAsync(void *q, void *h, void *packed, int64_t len)',
  dbrxMoveValueAsync:
    'int64_t dbrxMoveValueAsync(void *q, void *src, const char *src_name, void *dst, const char *dst_name, int flags, int64_t timeout_ms)',
  dbrxTake: 'int dbrxTake(int64_t tag, void *buf, void *size)',
  dbrxRead: 'int dbrxRead(void *h, void *buf, void *size, const char *name, const char *tmpl, int flags, int64_t timeout_ms)',
  dbrxGet: 'int dbrxGet(void *h, void *buf, void *size, const char *name, const char *tmpl, int flags, int64_t timeout_ms)',
  dbrxMoveValue:
    'int dbrxMoveValue(void *src, const char *src_name, void *dst, const char *dst_name, void *buf, void *size, int flags, int64_t timeout_ms)',
  dbrxPutMany: 'int dbrxPutMany(void *h, void *packed, int64_t len)',
  dbrxPutIfAbsent: 'int dbrxPutIfAbsent(void *h, void *buf, int64_t size, const char *name, void *stored)',
  dbrxPopPut: 'int dbrxPopPut(void *h, const char *pop_name, const char *put_name, void *buf, int64_t size)',
  dbrxPopPutAsync: 'int64_t dbrxPopPutAsync(void *q, void *h, const char *pop_name, const char *put_name, void *buf, int64_t size)',
  dbrxMoveManyAsync: 'int64_t dbrxMoveManyAsync(void *q, void *h, const char *sources, const char *destinations)',
  dbrxPopPutManyAsync: 'int64_t dbrxPopPutManyAsync(void *q, void *h, void *packed, int64_t len)',
  dbrxCount: 'int dbrxCount(void *h, const char *name, void *count)',
  dbrxStat: 'int dbrxStat(void *h, void *stat)',
  dbrxNamespaceName: 'int dbrxNamespaceName(void *h, void *buf, size_t size)',
  dbrxNamespaces: 'int dbrxNamespaces(const char *tmpl, unsigned int count, void *buf, size_t size, void *ret_size)',
  dbrxIteratorFree: 'int dbrxIteratorFree(void *it)',
  dbrxIteratorNextMany:
    'int dbrxIteratorNextMany(void *h, void *iterator, const char *tmpl, unsigned int max, void *buf, size_t size, void *ret_count)',
};

/** Where the bundled libdbr lives, relative to this file (src/ or dist/). */
export function bundledLibraryPath(): string {
  return fileURLToPath(new URL('../native/build/libdbr.so', import.meta.url));
}

function declare<T>(lib: LibraryHandle, table: Record<string, string>): T {
  const out: Record<string, unknown> = {};
  for (const [name, decl] of Object.entries(table)) out[name] = lib.func(decl);
  return out as T;
}

function hasSymbol(lib: LibraryHandle, name: string): boolean {
  try {
    lib.func(`int ${name}()`);
    return true;
  } catch {
    return false;
  }
}

/** Loads a Data Broker library: `path`, else DBR_LIBRARY, else the bundled libdbr. */
export function loadLibrary(path?: string): NativeLibrary {
  const fromEnv = process.env.DBR_LIBRARY;
  const file = path ?? (fromEnv && fromEnv.length > 0 ? fromEnv : bundledLibraryPath());
  if (!existsSync(file)) {
    throw new LibraryLoadError(
      file === bundledLibraryPath()
        ? `libdbr is not built (${file} is missing). Run \`pnpm build\` at the repository root, or \`make -C packages/core/native\`.`
        : `DBR_LIBRARY names ${file}, which does not exist. Point it at a Data Broker library (libdatabroker.so) or unset it to use the bundled libdbr.`,
    );
  }
  let lib: LibraryHandle;
  try {
    lib = koffi.load(file);
  } catch (err) {
    throw new LibraryLoadError(`Could not load ${file}: ${(err as Error).message}. Check that it is a shared library for this platform and that its dependencies (e.g. libhiredis) are installed; \`dbr doctor\` checks all of this.`);
  }
  let abi: DataBrokerAbi;
  try {
    abi = declare<DataBrokerAbi>(lib, ABI_DECLARATIONS);
  } catch (err) {
    throw new LibraryLoadError(`${file} does not export the Data Broker v0.7 ABI: ${(err as Error).message}.`);
  }
  const ext = hasSymbol(lib, 'dbrxAbiVersion') ? declare<DbrxExtensions>(lib, EXT_DECLARATIONS) : undefined;
  return { path: file, abi, ext };
}

let shared: NativeLibrary | undefined;

/** The process-wide library, loaded on first use. */
export function nativeLibrary(): NativeLibrary {
  shared ??= loadLibrary();
  return shared;
}
