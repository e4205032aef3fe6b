/**
 * Hash routes: `#/`, `#/ns/<namespace>?pattern=&name=`, `#/queues[/<ns>/<queue>]`, `#/workers`,
 * `#/workflows[/<ns>/<id>]`. Segments are URI-encoded, so any name round-trips.
 */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  view: 'overview' | 'namespaces' | 'queues' | 'workers' | 'workflows';
  args: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, '');
  const [p = '', q = ''] = raw.split('?', 2);
  const parts = p.split('/').filter(Boolean).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  const head = parts[0];
  const view: Route['view'] = head === 'ns' ? 'namespaces' : head === 'queues' ? 'queues' : head === 'workers' ? 'workers' : head === 'workflows' ? 'workflows' : 'overview';
  return { view, args: parts.slice(1), query: new URLSearchParams(q) };
}

/** Builds a hash link. */
export function href(view: string, args: string[] = [], query: Record<string, string | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, v);
  const qs = q.toString();
  return `#/${[view, ...args.map(encodeURIComponent)].filter(Boolean).join('/')}${qs ? `?${qs}` : ''}`;
}

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, '', to);
  else location.hash = to.slice(1);
  if (replace) window.dispatchEvent(new HashChangeEvent('hashchange'));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
