import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { NameEntry, NamePage, NamespaceSummary, Overview, PreviewFormat, SessionInfo, ValuePreview } from '../../../src/api-types.ts';
import { api, path } from '../api.ts';
import { useEvents } from '../events.ts';
import * as fmt from '../format.ts';
import { href, navigate, type Route } from '../router.ts';
import { Badge, ConfirmButton, Empty, ErrorBox, Row } from '../ui.tsx';

const PAGE = 50;

/** The namespace browser: pick a namespace, filter names by glob, page through them, preview values. */
export function Namespaces(props: { route: Route; session: SessionInfo }) {
  const ns = props.route.args[0];
  if (ns === undefined) return <NamespacePicker />;
  return <Browser key={ns} ns={ns} route={props.route} session={props.session} />;
}

function NamespacePicker() {
  const [data] = useEvents({ topics: 'overview' });
  const o = data.overview as Overview | undefined;
  return (
    <section>
      <h1>Namespaces</h1>
      {o === undefined ? (
        <p class="muted">Loading…</p>
      ) : o.namespaces.length === 0 ? (
        <Empty>No namespaces yet.</Empty>
      ) : (
        <table class="grid" data-testid="ns-picker">
          <thead>
            <tr>
              <th>namespace</th>
              <th class="num">names</th>
              <th class="num">values</th>
            </tr>
          </thead>
          <tbody>
            {o.namespaces.map((n) => (
              <Row key={n.name} onOpen={() => navigate(href('ns', [n.name]))} label={n.name}>
                <td class="name">{n.name}</td>
                <td class="num">{fmt.count(n.names)}</td>
                <td class="num">{fmt.count(n.values)}</td>
              </Row>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Browser(props: { ns: string; route: Route; session: SessionInfo }) {
  const { ns, route, session } = props;
  const pattern = route.query.get('pattern') || '*';
  const selected = route.query.get('name') ?? undefined;
  const [filter, setFilter] = useState(pattern);
  const [pages, setPages] = useState<NamePage[]>([]);
  const [pageIndex, setPageIndex] = useState(0);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [reload, setReload] = useState(0);
  const [live] = useEvents({ topics: '', ns });
  const summary = live.namespace as (NamespaceSummary & { missing?: boolean }) | undefined;

  const load = useCallback(
    async (cursor: string | undefined) => {
      setLoading(true);
      setError(undefined);
      try {
        return await api.get<NamePage>(path(['namespaces', ns, 'names'], { pattern, limit: PAGE, cursor }));
      } catch (err) {
        setError(err);
        return undefined;
      } finally {
        setLoading(false);
      }
    },
    [ns, pattern],
  );

  useEffect(() => {
    setFilter(pattern);
    setPages([]);
    setPageIndex(0);
    void load(undefined).then((p) => p && setPages([p]));
  }, [load, reload]);

  const next = useCallback(async () => {
    if (pageIndex + 1 < pages.length) return setPageIndex(pageIndex + 1);
    const cur = pages[pageIndex]?.cursor;
    if (!cur || loading) return;
    const p = await load(cur);
    if (p) {
      setPages((ps) => [...ps, p]);
      setPageIndex(pageIndex + 1);
    }
  }, [pages, pageIndex, loading, load]);
  const prev = useCallback(() => setPageIndex((i) => Math.max(0, i - 1)), []);

  useEffect(() => {
    const onPage = (e: Event) => ((e as CustomEvent<string>).detail === 'next' ? void next() : prev());
    window.addEventListener('dbr:page', onPage);
    return () => window.removeEventListener('dbr:page', onPage);
  }, [next, prev]);

  const applyFilter = (value: string) => navigate(href('ns', [ns], { pattern: value.trim() === '' || value === '*' ? undefined : value.trim() }), true);
  const debounce = useRef<number | undefined>(undefined);
  const page = pages[pageIndex];
  const select = (name?: string) => navigate(href('ns', [ns], { pattern: pattern === '*' ? undefined : pattern, name }), true);

  return (
    <section class="browser">
      <div class="browser-head">
        <h1>
          <a href={href('ns')} class="crumb">
            Namespaces
          </a>{' '}
          / <span data-testid="ns-name">{ns}</span>
        </h1>
        {summary && !summary.missing && (
          <p class="muted" data-testid="ns-summary">
            <span data-testid="ns-names">{fmt.count(summary.names)}</span> names · <span data-testid="ns-values">{fmt.count(summary.values)}</span> values ·{' '}
            {fmt.bytes(summary.bytes)} · {fmt.count(summary.attached)} other clients attached
          </p>
        )}
        {summary?.missing && <p class="error">This namespace does not exist (any more).</p>}
      </div>
      <div class="browser-body">
        <div class="names-pane">
          <form
            class="filter"
            onSubmit={(e) => {
              e.preventDefault();
              window.clearTimeout(debounce.current);
              applyFilter(filter);
            }}
          >
            <label for="filter">Filter (glob)</label>
            <input
              id="filter"
              data-filter=""
              type="search"
              value={filter}
              placeholder="*"
              autocomplete="off"
              spellcheck={false}
              onInput={(e) => {
                const v = (e.target as HTMLInputElement).value;
                setFilter(v);
                window.clearTimeout(debounce.current);
                debounce.current = window.setTimeout(() => applyFilter(v), 400);
              }}
            />
            <button type="button" onClick={() => setReload((r) => r + 1)} title="Start the listing again">
              Refresh
            </button>
          </form>
          <ErrorBox error={error} />
          <table class="grid names" data-testid="names">
            <thead>
              <tr>
                <th>tuple name</th>
                <th class="num">values</th>
                <th class="num">oldest value</th>
              </tr>
            </thead>
            <tbody>
              {page?.names.map((n) => (
                <Row key={n.name} selected={n.name === selected} onOpen={() => select(n.name)} label={n.name}>
                  <td class="name" data-testid="tuple-name">
                    {n.name}
                  </td>
                  <td class="num">{fmt.count(n.count)}</td>
                  <td class="num">{fmt.bytes(n.headBytes)}</td>
                </Row>
              ))}
            </tbody>
          </table>
          {page !== undefined && page.names.length === 0 && <Empty>No names match {pattern}.</Empty>}
          <div class="pager">
            <button type="button" onClick={prev} disabled={pageIndex === 0} title="Previous page (p)">
              ← Prev
            </button>
            <span data-testid="page-label">
              page {pageIndex + 1}
              {page?.cursor === null ? ' (last)' : ''}
            </span>
            <button type="button" onClick={() => void next()} disabled={loading || (pageIndex + 1 >= pages.length && !page?.cursor)} title="Next page (n)">
              Next →
            </button>
          </div>
        </div>
        <div class="preview-pane">
          {selected === undefined ? (
            <Empty>Select a tuple name to preview its values.</Empty>
          ) : (
            <Preview key={selected} ns={ns} name={selected} session={session} onRemoved={() => (select(undefined), setReload((r) => r + 1))} />
          )}
        </div>
      </div>
    </section>
  );
}

function Preview(props: { ns: string; name: string; session: SessionInfo; onRemoved: () => void }) {
  const { ns, name, session } = props;
  const [index, setIndex] = useState(0);
  const [format, setFormat] = useState<PreviewFormat | 'auto'>('auto');
  const [p, setP] = useState<ValuePreview | undefined>(undefined);
  const [count, setCount] = useState<number | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    let stop = false;
    setError(undefined);
    api
      .get<ValuePreview>(path(['namespaces', ns, 'value'], { name, index, format }))
      .then((v) => !stop && setP(v))
      .catch((e: unknown) => !stop && (setError(e), setP(undefined)));
    api
      .get<NameEntry>(path(['namespaces', ns, 'tuple'], { name }))
      .then((t) => !stop && setCount(t.count))
      .catch(() => undefined);
    return () => {
      stop = true;
    };
  }, [ns, name, index, format]);
  return (
    <div class="preview" data-testid="preview">
      <h2 class="preview-title" data-testid="preview-name">
        {name}
      </h2>
      <div class="preview-bar">
        <span>
          value {index + 1}
          {count !== undefined ? ` of ${fmt.count(count)}` : ''}
        </span>
        <button type="button" disabled={index === 0} onClick={() => setIndex(index - 1)}>
          older
        </button>
        <button type="button" disabled={count !== undefined && index + 1 >= count} onClick={() => setIndex(index + 1)}>
          newer
        </button>
        <span class="formats" role="group" aria-label="format">
          {(['auto', 'json', 'text', 'hex'] as const).map((f) => (
            <button type="button" key={f} class={format === f ? 'on' : ''} aria-pressed={format === f} onClick={() => setFormat(f)}>
              {f}
            </button>
          ))}
        </span>
        {session.write && (
          <ConfirmButton
            label="Remove tuple"
            confirm={`Remove all ${count ?? ''} values?`}
            onConfirm={async () => {
              try {
                await api.del(path(['namespaces', ns, 'tuples'], { name }));
                props.onRemoved();
              } catch (e) {
                setError(e);
              }
            }}
          />
        )}
      </div>
      <ErrorBox error={error} />
      {p && (
        <>
          <p class="muted" data-testid="preview-meta">
            {p.detected} · {fmt.bytes(p.size)}
            {p.note && <span data-testid="preview-note"> · {p.note}</span>}
            {p.truncated && (
              <strong class="truncated" data-testid="truncated">
                {' '}
                · truncated: showing the first {fmt.bytes(p.shownBytes)} of {fmt.bytes(p.size)}
              </strong>
            )}
          </p>
          {p.schema && (
            <div class={`schema ${p.schema.valid === true ? 'ok' : p.schema.valid === false ? 'bad' : ''}`} data-testid="schema">
              <Badge state={p.schema.valid === true ? 'done' : p.schema.valid === false ? 'failed' : 'pending'}>
                {p.schema.valid === true ? 'valid' : p.schema.valid === false ? 'invalid' : 'not checked'}
              </Badge>{' '}
              schema {p.schema.label}
              {p.schema.note && <span class="muted"> ({p.schema.note})</span>}
              {p.schema.issues.length > 0 && (
                <ul>
                  {p.schema.issues.map((i, k) => (
                    <li key={k}>
                      <code>{i.path}</code>: {i.message}
                    </li>
                  ))}
                </ul>
              )}
            </div>
          )}
          <pre class="value" data-testid="preview-content" tabIndex={0}>
            {p.content}
          </pre>
        </>
      )}
    </div>
  );
}
