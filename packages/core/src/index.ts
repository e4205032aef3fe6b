/**
 * @tsdbr/core: the Data Broker tuple space for TypeScript.
 *
 * - {@link Broker} and {@link Namespace}: the idiomatic, promise-based API.
 * - `dbr`: PyDBR's function table, one to one.
 * - Codecs, typed channels (zod), and typed errors.
 * @module
 */
export { Broker, type CreateOptions } from './broker.js';
export { Namespace } from './namespace.js';
export { MOVE_MANY_MAX_DESTINATIONS, MOVE_MANY_MAX_SOURCES, type NamespaceInfo, type PopPutStep, type PutOptions, type StepOutcome, type ReadOptions, type TakeOptions, type TupleSelector } from './namespace-types.js';
export { Channel, type ChannelOptions, type ChannelTakeOptions } from './channel.js';
export { type Codec, codecs, json, msgpack, printableText, raw, toBytes, utf8, type ValueLike } from './codecs.js';
export { ConfigError, DbrError, isDbrError, LibraryLoadError, SchemaError, type SchemaIssue, TsdbrError } from './errors.js';
export { type BrokerOptions, type CompiledBrokerOptions, compileBrokerOptions, type Duration, parseDuration } from './options.js';
export { ChurnMap } from './churn-map.js';
export {
  DB_TAG_ERROR,
  DBR_MAX_KEY_LEN,
  DBR_MAX_READ_INDEX,
  DBRX_TIMEOUT_DEFAULT,
  DBRX_TIMEOUT_INFINITE,
  ERROR_MESSAGES,
  ErrorCode,
  type ErrorCodeName,
  errorCodeName,
  Flags,
  PersistLevel,
} from './constants.js';
export type { BackendKind } from './runtime.js';
export type { NativePointer } from './ffi.js';
export * as dbr from './dbr.js';
export { freePort, type LocalRedis, type LocalRedisOptions, readLocalRedis, type RedisNode, startLocalRedis, stopLocalRedis } from './local-redis.js';
