/**
 * Shapes of the JSON API and of the Server-Sent Events, shared by the server and the web UI. Every route is
 * described in API.md of @tsdbr/dashboard.
 * @module
 */

/** How a value is rendered: parsed JSON, UTF-8 text, decoded MessagePack, or a hex dump. */
export type PreviewFormat = 'json' | 'text' | 'hex' | 'msgpack';

/** The error body of every failed request. */
export interface ApiError {
  error: { code: string; message: string };
}

/** `GET /api/session`: what this browser may do. */
export interface SessionInfo {
  /** @tsdbr/dashboard version. */
  version: string;
  backend: string;
  /** The server was started with write access. */
  write: boolean;
  /** A token protects this dashboard. */
  authRequired: boolean;
  /** This request carried a valid token (cookie or Bearer). */
  authenticated: boolean;
  /** Send it as the `x-csrf-token` header with write requests made with the session cookie. */
  csrfToken: string | null;
  refreshMs: number;
  previewBytes: number;
}

/** One namespace in the overview. */
export interface NamespaceSummary {
  name: string;
  /** Tuple names holding values. */
  names: number;
  /** Values under all names. */
  values: number;
  /** Bytes of all values (-1 where the backend cannot tell cheaply). */
  bytes: number;
  /** Other clients attached (the dashboard's own attach is not counted). */
  attached: number;
  deletePending: boolean;
}

/** `GET /api/overview` and the `overview` event. */
export interface Overview {
  backend: string;
  /** The embedded backend shows this process's tuples only. */
  scope: 'process' | 'shared';
  namespaces: NamespaceSummary[];
  /** More namespaces exist than are listed (the list is capped). */
  namespacesTruncated: boolean;
  totals: { namespaces: number; names: number; values: number; bytes: number };
  queues: { queues: number; waiting: number; running: number; done: number; failed: number };
  workers: { alive: number };
}

/** One tuple name on a page of the namespace browser. */
export interface NameEntry {
  name: string;
  /** Values stored under the name. */
  count: number;
  /** Bytes of the oldest value, or null if it could not be read. */
  headBytes: number | null;
}

/** `GET /api/namespaces/:ns/names`: one page of names from a server-side cursor. */
export interface NamePage {
  namespace: string;
  pattern: string;
  names: NameEntry[];
  /** Pass as `cursor` for the next page; null when the walk is done. */
  cursor: string | null;
}

/** The result of checking a value against a registered schema. */
export interface SchemaCheck {
  label: string;
  /** null: not checked (too large). */
  valid: boolean | null;
  issues: { path: string; message: string }[];
  note?: string;
}

/** `GET /api/namespaces/:ns/value`: a bounded rendering of one value. */
export interface ValuePreview {
  namespace: string;
  name: string;
  index: number;
  /** Full size of the value in bytes. */
  size: number;
  /** Bytes rendered in `content`. */
  shownBytes: number;
  /** Only a prefix is shown. */
  truncated: boolean;
  /** What the value looks like. */
  detected: PreviewFormat;
  /** How `content` renders it. */
  format: PreviewFormat;
  content: string;
  /** Why `content` is not in the format asked for, e.g. a value nested too deeply to indent as JSON. */
  note?: string;
  /** null when no schema is registered for this tuple. */
  schema: SchemaCheck | null;
}

/** Task counts of one queue. */
export interface QueueCounts {
  waiting: number;
  running: number;
  done: number;
  failed: number;
}

/** One queue in `GET /api/queues`. */
export interface QueueSummary extends QueueCounts {
  namespace: string;
  queue: string;
  /** Live workers serving it. */
  workers: number;
  /** Completed tasks per second over the last minute. */
  throughput: number;
  /** Mean task duration (ms) over the last minute, or null. */
  latencyMs: number | null;
}

/** One point of a queue's history (for charts). */
export interface QueuePoint extends QueueCounts {
  /** Unix time in ms. */
  t: number;
  /** Completions per second since the previous point. */
  throughput: number;
  /** Mean duration (ms) of tasks completed since the previous point, or null. */
  latencyMs: number | null;
}

/** `GET /api/queues/:ns/:queue`. */
export interface QueueDetail extends QueueSummary {
  history: QueuePoint[];
}

/** A failed (dead-lettered) task. */
export interface FailedTask {
  id: string;
  task: string | null;
  error: string;
  stack: string | null;
  attempts: number | null;
  failedAt: number | null;
  /** The task's input, rendered as bounded JSON/text. */
  input: string | null;
}

/** `GET /api/queues/:ns/:queue/failed`. */
export interface FailedPage {
  namespace: string;
  queue: string;
  tasks: FailedTask[];
  cursor: string | null;
}

/** A task a worker is running. */
export interface RunningTask {
  id: string;
  task: string | null;
  startedAt: number | null;
  /** 0..1, or null if the task reports no progress. */
  progress: number | null;
  message: string | null;
}

/** `GET /api/workers`. */
export interface WorkerInfo {
  namespace: string;
  id: string;
  host: string | null;
  pid: number | null;
  queues: string[];
  startedAt: number | null;
  lastBeat: number | null;
  /** No heartbeat within its lease. */
  stale: boolean;
  concurrency: number | null;
  running: RunningTask[];
  completed: number | null;
  failed: number | null;
}

/** A node of a workflow DAG. */
export interface WorkflowNode {
  id: string;
  task: string | null;
  state: 'pending' | 'waiting' | 'running' | 'done' | 'failed' | 'cancelled' | 'unknown';
  deps: string[];
  progress: number | null;
  error: string | null;
}

/** `GET /api/workflows` (without nodes) and `GET /api/workflows/:ns/:id`. */
export interface WorkflowInfo {
  namespace: string;
  id: string;
  name: string | null;
  state: WorkflowNode['state'];
  createdAt: number | null;
  total: number;
  done: number;
  failed: number;
  running: number;
  nodes?: WorkflowNode[];
}

/** Names of the Server-Sent Events of `GET /api/events`. */
export type EventName = 'overview' | 'namespace' | 'queues' | 'queue' | 'workers' | 'workflows' | 'workflow';
