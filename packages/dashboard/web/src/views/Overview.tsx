import type { Overview as OverviewData } from '../../../src/api-types.ts';
import { useEvents } from '../events.ts';
import * as fmt from '../format.ts';
import { href, navigate } from '../router.ts';
import { Empty, Row, Stat } from '../ui.tsx';

/** Backend, namespaces and totals, live. */
export function Overview() {
  const [data, live] = useEvents({ topics: 'overview' });
  const o = data.overview as OverviewData | undefined;
  if (o === undefined) return <p class="muted">Loading…</p>;
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      {o.scope === 'process' && (
        <p class="notice">
          Embedded backend: this dashboard sees only the tuples of its own process. Point it at Redis (DBR_SERVER=sock://host:port) or run
          workers with <code>dbr run --dashboard</code>.
        </p>
      )}
      <div class="stats" data-testid="totals">
        <Stat label="backend" value={o.backend} />
        <Stat label="namespaces" value={fmt.count(o.totals.namespaces)} />
        <Stat label="tuple names" value={fmt.count(o.totals.names)} />
        <Stat label="values" value={fmt.count(o.totals.values)} />
        <Stat label="stored" value={fmt.bytes(o.totals.bytes)} />
        <Stat label="queues" value={fmt.count(o.queues.queues)} />
        <Stat label="waiting" value={fmt.count(o.queues.waiting)} />
        <Stat label="running" value={fmt.count(o.queues.running)} />
        <Stat label="failed" value={fmt.count(o.queues.failed)} tone={o.queues.failed > 0 ? 'bad' : undefined} />
        <Stat label="workers" value={fmt.count(o.workers.alive)} />
      </div>
      <h2>
        Namespaces <span class={`live ${live}`}>{live}</span>
      </h2>
      {o.namespaces.length === 0 ? (
        <Empty>No namespaces yet.</Empty>
      ) : (
        <table class="grid" data-testid="namespaces">
          <thead>
            <tr>
              <th>namespace</th>
              <th class="num">names</th>
              <th class="num">values</th>
              <th class="num">bytes</th>
              <th class="num">attached</th>
            </tr>
          </thead>
          <tbody>
            {o.namespaces.map((n) => (
              <Row key={n.name} onOpen={() => navigate(href('ns', [n.name]))} label={n.name}>
                <td class="name">
                  <a href={href('ns', [n.name])} tabIndex={-1}>
                    {n.name}
                  </a>
                  {n.deletePending && <span class="badge state-failed">delete pending</span>}
                </td>
                <td class="num" data-col="names">
                  {fmt.count(n.names)}
                </td>
                <td class="num" data-col="values">
                  {fmt.count(n.values)}
                </td>
                <td class="num">{fmt.bytes(n.bytes)}</td>
                <td class="num">{fmt.count(n.attached)}</td>
              </Row>
            ))}
          </tbody>
        </table>
      )}
      {o.namespacesTruncated && <p class="muted">Only the first namespaces are listed.</p>}
    </section>
  );
}
