import { useState } from 'preact/hooks';
import type { WorkflowInfo } from '../../../src/api-types.ts';
import { Dag } from '../components/Dag.tsx';
import { useEvents } from '../events.ts';
import * as fmt from '../format.ts';
import { href, navigate, type Route } from '../router.ts';
import { Badge, Empty, Progress, Row } from '../ui.tsx';

/** Workflows: a list with progress, and one workflow's DAG with per-node status, live. */
export function Workflows(props: { route: Route }) {
  const [ns, id] = props.route.args;
  if (ns !== undefined && id !== undefined) return <WorkflowView key={`${ns}/${id}`} ns={ns} id={id} />;
  return <WorkflowList />;
}

function WorkflowList() {
  const [data, live] = useEvents({ topics: 'workflows' });
  const list = (data.workflows as { workflows: WorkflowInfo[] } | undefined)?.workflows;
  return (
    <section>
      <h1>
        Workflows <span class={`live ${live}`}>{live}</span>
      </h1>
      {list === undefined ? (
        <p class="muted">Loading…</p>
      ) : list.length === 0 ? (
        <Empty>No workflow runs found.</Empty>
      ) : (
        <table class="grid" data-testid="workflows">
          <thead>
            <tr>
              <th>namespace</th>
              <th>run</th>
              <th>state</th>
              <th>progress</th>
              <th class="num">done</th>
              <th class="num">running</th>
              <th class="num">failed</th>
              <th>started</th>
            </tr>
          </thead>
          <tbody>
            {list.map((w) => (
              <Row key={`${w.namespace}/${w.id}`} onOpen={() => navigate(href('workflows', [w.namespace, w.id]))} label={w.id}>
                <td>{w.namespace}</td>
                <td class="name">{w.name ? `${w.name} · ${w.id}` : w.id}</td>
                <td>
                  <Badge state={w.state} />
                </td>
                <td>
                  <Progress value={w.total > 0 ? w.done / w.total : null} />
                </td>
                <td class="num">
                  {w.done}/{w.total}
                </td>
                <td class="num">{w.running}</td>
                <td class={`num ${w.failed > 0 ? 'bad' : ''}`}>{w.failed}</td>
                <td>{fmt.ago(w.createdAt)}</td>
              </Row>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function WorkflowView(props: { ns: string; id: string }) {
  const [data, live] = useEvents({ topics: '', workflowNamespace: props.ns, workflow: props.id });
  const wf = data.workflow as (WorkflowInfo & { missing?: boolean }) | undefined;
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const node = wf?.nodes?.find((n) => n.id === selected);
  return (
    <section>
      <h1>
        <a href={href('workflows')} class="crumb">
          Workflows
        </a>{' '}
        / {props.ns} / <span data-testid="workflow-id">{props.id}</span> <span class={`live ${live}`}>{live}</span>
      </h1>
      {wf === undefined ? (
        <p class="muted">Loading…</p>
      ) : wf.missing ? (
        <p class="error" data-testid="workflow-missing">
          This workflow run does not exist (any more).
        </p>
      ) : (
        <>
          <p>
            <Badge state={wf.state} /> {wf.name ?? ''} · {wf.done} of {wf.total} steps done · {wf.running} running · {wf.failed} failed
          </p>
          <Progress value={wf.total > 0 ? wf.done / wf.total : null} />
          <div class="legend">
            {(['pending', 'waiting', 'running', 'done', 'failed', 'cancelled'] as const).map((s) => (
              <Badge key={s} state={s} />
            ))}
          </div>
          <Dag nodes={wf.nodes ?? []} selected={selected} onSelect={setSelected} />
          {node && (
            <div class="node-detail" data-testid="node-detail">
              <h2 class="name">{node.id}</h2>
              <p>
                <Badge state={node.state} /> task {node.task ?? '–'} · depends on {node.deps.length === 0 ? 'nothing' : node.deps.join(', ')}
              </p>
              {node.progress !== null && <Progress value={node.progress} />}
              {node.error && <pre class="value">{node.error}</pre>}
            </div>
          )}
        </>
      )}
    </section>
  );
}
