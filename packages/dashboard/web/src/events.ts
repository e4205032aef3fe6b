/**
 * Live data over Server-Sent Events: one EventSource per page, reconnecting by itself.
 */
import { useEffect, useState } from 'preact/hooks';

export type LiveState = 'connecting' | 'live' | 'reconnecting';

/** Window event sent when the server refused an event stream, so that the app checks the session again. */
export const STREAM_REFUSED = 'dbr:stream-refused';

/** Subscribes to `/api/events` with the given query; returns the latest data per event name. */
export function useEvents(query: Record<string, string | undefined>, enabled = true): [Record<string, unknown>, LiveState] {
  const [data, setData] = useState<Record<string, unknown>>({});
  const [state, setState] = useState<LiveState>('connecting');
  const qs = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined)).toString();
  useEffect(() => {
    if (!enabled) return;
    setData({});
    setState('connecting');
    const es = new EventSource(`/api/events?${qs}`);
    const names = ['overview', 'namespace', 'queues', 'queue', 'workers', 'workflows', 'workflow'];
    const on = (e: MessageEvent<string>) => {
      try {
        const value = JSON.parse(e.data) as unknown;
        setData((d) => ({ ...d, [e.type]: value }));
      } catch {
        // ignore a malformed event
      }
    };
    for (const n of names) es.addEventListener(n, on as EventListener);
    es.onopen = () => setState('live');
    es.onerror = () => {
      setState('reconnecting');
      // the browser never retries a stream the server refused (a 401 once the session stopped holding)
      if (es.readyState === EventSource.CLOSED) window.dispatchEvent(new Event(STREAM_REFUSED));
    };
    return () => es.close();
  }, [qs, enabled]);
  return [data, state];
}
