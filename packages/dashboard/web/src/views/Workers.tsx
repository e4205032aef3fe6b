import type { WorkerInfo } from '../../../src/api-types.ts';
import { useEvents } from '../events.ts';
import * as fmt from '../format.ts';
import { Badge, Empty, Progress } from '../ui.tsx';

/** Running tasks listed per worker: a heartbeat anyone may write can name any number of them. */
const MAX_RUNNING_SHOWN = 100;

/** Workers: heartbeats, host and pid, uptime, and the tasks they run with progress. */
export function Workers() {
  const [data, live] = useEvents({ topics: 'workers' });
  const workers = (data.workers as { workers: WorkerInfo[] } | undefined)?.workers;
  const now = Date.now();
  return (
    <section>
      <h1>
        Workers <span class={`live ${live}`}>{live}</span>
      </h1>
      {workers === undefined ? (
        <p class="muted">Loading…</p>
      ) : workers.length === 0 ? (
        <Empty>No workers are sending heartbeats.</Empty>
      ) : (
        <div class="cards" data-testid="workers">
          {workers.map((w) => (
            <article class="card" key={`${w.namespace}/${w.id}`} tabIndex={0} data-row="">
              <header>
                <h2 class="name">{w.id}</h2>
                <Badge state={w.stale ? 'failed' : 'done'}>{w.stale ? 'stale' : 'alive'}</Badge>
              </header>
              <dl class="facts">
                <dt>host</dt>
                <dd>{w.host ?? '–'}</dd>
                <dt>pid</dt>
                <dd>{w.pid ?? '–'}</dd>
                <dt>namespace</dt>
                <dd>{w.namespace}</dd>
                <dt>queues</dt>
                <dd>{w.queues.join(', ') || '–'}</dd>
                <dt>uptime</dt>
                <dd>{w.startedAt === null ? '–' : fmt.duration(now - w.startedAt)}</dd>
                <dt>heartbeat</dt>
                <dd>{fmt.ago(w.lastBeat, now)}</dd>
                <dt>concurrency</dt>
                <dd>{w.concurrency ?? '–'}</dd>
                <dt>done / failed</dt>
                <dd>
                  {fmt.count(w.completed)} / {fmt.count(w.failed)}
                </dd>
              </dl>
              {w.running.length === 0 ? (
                <p class="muted">idle</p>
              ) : (
                <table class="grid compact">
                  <thead>
                    <tr>
                      <th>task</th>
                      <th>id</th>
                      <th>progress</th>
                      <th>running for</th>
                    </tr>
                  </thead>
                  <tbody>
                    {w.running.slice(0, MAX_RUNNING_SHOWN).map((r) => (
                      <tr key={r.id}>
                        <td>{r.task ?? '–'}</td>
                        <td class="name">{r.id}</td>
                        <td>
                          <Progress value={r.progress} />
                          {r.message && <span class="muted"> {r.message}</span>}
                        </td>
                        <td>{r.startedAt === null ? '–' : fmt.duration(now - r.startedAt)}</td>
                      </tr>
                    ))}
                  </tbody>
                  {w.running.length > MAX_RUNNING_SHOWN && (
                    <tfoot>
                      <tr>
                        <td colSpan={4} class="muted">
                          … and {fmt.count(w.running.length - MAX_RUNNING_SHOWN)} more running
                        </td>
                      </tr>
                    </tfoot>
                  )}
                </table>
              )}
            </article>
          ))}
        </div>
      )}
    </section>
  );
}
