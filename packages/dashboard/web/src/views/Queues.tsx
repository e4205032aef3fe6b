import { useEffect, useMemo, useState } from 'preact/hooks';
import type { FailedPage, FailedTask, QueueDetail, QueueSummary, SessionInfo } from '../../../src/api-types.ts';
import { api, path } from '../api.ts';
import { Chart } from '../components/Chart.tsx';
import { useEvents } from '../events.ts';
import * as fmt from '../format.ts';
import { href, navigate, type Route } from '../router.ts';
import { ConfirmButton, Empty, ErrorBox, Row, Stat } from '../ui.tsx';

/** Queues: counts, rates and latencies; one queue's charts and failed tasks. */
export function Queues(props: { route: Route; session: SessionInfo; theme: string }) {
  const [ns, queue] = props.route.args;
  if (ns !== undefined && queue !== undefined) return <QueueView key={`${ns}/${queue}`} ns={ns} queue={queue} session={props.session} theme={props.theme} failedId={props.route.query.get('task') ?? undefined} />;
  return <QueueList />;
}

function QueueList() {
  const [data, live] = useEvents({ topics: 'queues' });
  const queues = (data.queues as { queues: QueueSummary[] } | undefined)?.queues;
  return (
    <section>
      <h1>
        Queues <span class={`live ${live}`}>{live}</span>
      </h1>
      {queues === undefined ? (
        <p class="muted">Loading…</p>
      ) : queues.length === 0 ? (
        <Empty>No task queues found. Queues appear once @tsdbr/worker tasks are submitted.</Empty>
      ) : (
        <table class="grid" data-testid="queues">
          <thead>
            <tr>
              <th>namespace</th>
              <th>queue</th>
              <th class="num">waiting</th>
              <th class="num">running</th>
              <th class="num">done</th>
              <th class="num">failed</th>
              <th class="num">workers</th>
              <th class="num">throughput</th>
              <th class="num">latency</th>
            </tr>
          </thead>
          <tbody>
            {queues.map((q) => (
              <Row key={`${q.namespace}/${q.queue}`} onOpen={() => navigate(href('queues', [q.namespace, q.queue]))} label={q.queue}>
                <td>{q.namespace}</td>
                <td class="name">{q.queue}</td>
                <td class="num" data-col="waiting">
                  {fmt.count(q.waiting)}
                </td>
                <td class="num" data-col="running">
                  {fmt.count(q.running)}
                </td>
                <td class="num" data-col="done">
                  {fmt.count(q.done)}
                </td>
                <td class={`num ${q.failed > 0 ? 'bad' : ''}`} data-col="failed">
                  {fmt.count(q.failed)}
                </td>
                <td class="num">{fmt.count(q.workers)}</td>
                <td class="num">{fmt.rate(q.throughput)}</td>
                <td class="num">{fmt.duration(q.latencyMs)}</td>
              </Row>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function QueueView(props: { ns: string; queue: string; session: SessionInfo; theme: string; failedId?: string }) {
  const { ns, queue, session } = props;
  const [data, live] = useEvents({ topics: '', queueNamespace: ns, queue });
  const q = data.queue as (QueueDetail & { missing?: boolean }) | undefined;
  const [failed, setFailed] = useState<FailedTask[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const failedCount = q?.failed;
  useEffect(() => {
    api
      .get<FailedPage>(path(['queues', ns, queue, 'failed'], { limit: 100 }))
      .then((p) => setFailed(p.tasks))
      .catch(setError);
  }, [ns, queue, failedCount]);
  const charts = useMemo(() => {
    const h = q?.history ?? [];
    return {
      times: h.map((p) => p.t),
      depth: [
        { label: 'waiting', colorVar: '--c-waiting', values: h.map((p) => p.waiting) },
        { label: 'running', colorVar: '--c-running', values: h.map((p) => p.running) },
      ],
      rate: [{ label: 'tasks/s', colorVar: '--c-done', values: h.map((p) => p.throughput) }],
      latency: [{ label: 'latency', colorVar: '--c-latency', values: h.map((p) => p.latencyMs) }],
    };
  }, [q?.history]);
  const act = async (verb: 'retry' | 'purge', id?: string) => {
    setError(undefined);
    try {
      await api.post(path(['queues', ns, queue, verb]), id === undefined ? {} : { id });
      const p = await api.get<FailedPage>(path(['queues', ns, queue, 'failed'], { limit: 100 }));
      setFailed(p.tasks);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section>
      <h1>
        <a href={href('queues')} class="crumb">
          Queues
        </a>{' '}
        / {ns} / <span data-testid="queue-name">{queue}</span> <span class={`live ${live}`}>{live}</span>
      </h1>
      <ErrorBox error={error} />
      {q === undefined ? (
        <p class="muted">Loading…</p>
      ) : q.missing ? (
        <p class="error" data-testid="queue-missing">
          This queue does not exist (any more).
        </p>
      ) : (
        <>
          <div class="stats" data-testid="queue-stats">
            <Stat label="waiting" value={fmt.count(q.waiting)} />
            <Stat label="running" value={fmt.count(q.running)} />
            <Stat label="done" value={fmt.count(q.done)} tone="ok" />
            <Stat label="failed" value={fmt.count(q.failed)} tone={q.failed > 0 ? 'bad' : undefined} />
            <Stat label="workers" value={fmt.count(q.workers)} />
            <Stat label="throughput" value={fmt.rate(q.throughput)} hint="tasks finished per second, last minute" />
            <Stat label="latency" value={fmt.duration(q.latencyMs)} hint="mean task duration, last minute" />
          </div>
          {session.write && (
            <p>
              <ConfirmButton label="Purge waiting tasks" confirm="Really purge the waiting tasks?" onConfirm={() => act('purge')} />
            </p>
          )}
          <div class="charts">
            <Chart title="Depth" times={charts.times} series={charts.depth} theme={props.theme} />
            <Chart title="Throughput" times={charts.times} series={charts.rate} unit="/s" theme={props.theme} />
            <Chart title="Latency" times={charts.times} series={charts.latency} unit=" ms" theme={props.theme} />
          </div>
        </>
      )}
      <h2>Failed tasks</h2>
      {failed === undefined ? (
        <p class="muted">Loading…</p>
      ) : failed.length === 0 ? (
        <Empty>No failed tasks.</Empty>
      ) : (
        <table class="grid" data-testid="failed">
          <thead>
            <tr>
              <th>task id</th>
              <th>task</th>
              <th>error</th>
              <th class="num">attempts</th>
              <th>failed</th>
              {session.write && <th />}
            </tr>
          </thead>
          <tbody>
            {failed.map((t) => (
              <FailedRow key={t.id} t={t} open={props.failedId === t.id} write={session.write} onToggle={() => navigate(href('queues', [ns, queue], { task: props.failedId === t.id ? undefined : t.id }), true)} onRetry={() => act('retry', t.id)} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function FailedRow(props: { t: FailedTask; open: boolean; write: boolean; onToggle: () => void; onRetry: () => Promise<void> }) {
  const { t } = props;
  return (
    <>
      <Row onOpen={props.onToggle} selected={props.open} label={t.id}>
        <td class="name">{t.id}</td>
        <td>{t.task ?? '–'}</td>
        <td class="error-text">{t.error}</td>
        <td class="num">{t.attempts ?? '–'}</td>
        <td>{fmt.ago(t.failedAt)}</td>
        {props.write && (
          <td>
            <button type="button" onClick={(e) => (e.stopPropagation(), void props.onRetry())}>
              Retry
            </button>
          </td>
        )}
      </Row>
      {props.open && (
        <tr class="detail">
          <td colSpan={props.write ? 6 : 5} data-testid="failed-detail">
            <h3>Error</h3>
            <pre class="value">{t.stack ?? t.error}</pre>
            {t.input !== null && (
              <>
                <h3>Input</h3>
                <pre class="value">{t.input}</pre>
              </>
            )}
          </td>
        </tr>
      )}
    </>
  );
}
