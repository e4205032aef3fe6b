/**
 * A workflow DAG as SVG: nodes in layers by longest dependency path, edges as curves, colours by state (CSS
 * classes). Labels are SVG text nodes, so hostile step names stay text.
 */
import type { WorkflowNode } from '../../../src/api-types.ts';

const W = 170;
const H = 46;
const GX = 60;
const GY = 18;

/** Each node's dependencies that are nodes of the graph, each once: an info tuple may repeat one endlessly. */
function knownDeps(nodes: WorkflowNode[]): Map<string, string[]> {
  const ids = new Set(nodes.map((n) => n.id));
  return new Map(nodes.map((n) => [n.id, [...new Set(n.deps)].filter((d) => ids.has(d))]));
}

export function layout(nodes: WorkflowNode[]): { pos: Map<string, { x: number; y: number }>; deps: Map<string, string[]>; width: number; height: number } {
  const deps = knownDeps(nodes);
  const layer = new Map<string, number>();
  const visiting = new Set<string>();
  const depth = (id: string): number => {
    const known = layer.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0; // a cycle: should not happen in a DAG; do not loop
    visiting.add(id);
    const d = (deps.get(id) ?? []).reduce((deepest, dep) => Math.max(deepest, depth(dep) + 1), 0);
    visiting.delete(id);
    layer.set(id, d);
    return d;
  };
  for (const n of nodes) depth(n.id);
  const columns = new Map<number, string[]>();
  for (const n of nodes) {
    const d = layer.get(n.id) ?? 0;
    const col = columns.get(d) ?? [];
    col.push(n.id);
    columns.set(d, col);
  }
  const pos = new Map<string, { x: number; y: number }>();
  let maxRows = 0;
  for (const [d, ids] of columns) {
    maxRows = Math.max(maxRows, ids.length);
    ids.forEach((id, i) => pos.set(id, { x: 10 + d * (W + GX), y: 10 + i * (H + GY) }));
  }
  return { pos, deps, width: 20 + columns.size * (W + GX) - GX, height: 20 + maxRows * (H + GY) - GY };
}

export function Dag(props: { nodes: WorkflowNode[]; selected?: string; onSelect?: (id: string) => void }) {
  const { pos, deps, width, height } = layout(props.nodes);
  return (
    <div class="dag-scroll">
      <svg class="dag" width={Math.max(width, 100)} height={Math.max(height, 60)} viewBox={`0 0 ${Math.max(width, 100)} ${Math.max(height, 60)}`} role="img" aria-label="workflow graph">
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" class="dag-arrow" />
          </marker>
        </defs>
        {props.nodes.flatMap((n) =>
          (deps.get(n.id) ?? []).map((d) => {
            const a = pos.get(d);
            const b = pos.get(n.id);
            if (!a || !b) return null;
            const x1 = a.x + W;
            const y1 = a.y + H / 2;
            const x2 = b.x;
            const y2 = b.y + H / 2;
            const mx = (x1 + x2) / 2;
            return <path key={`${d}->${n.id}`} class="dag-edge" d={`M ${x1} ${y1} C ${mx} ${y1}, ${mx} ${y2}, ${x2} ${y2}`} marker-end="url(#arrow)" />;
          }),
        )}
        {props.nodes.map((n) => {
          const p = pos.get(n.id);
          if (!p) return null;
          const progress = n.progress ?? (n.state === 'done' ? 1 : 0);
          return (
            <g
              key={n.id}
              class={`dag-node state-${n.state}${props.selected === n.id ? ' selected' : ''}`}
              transform={`translate(${p.x} ${p.y})`}
              tabIndex={0}
              data-node={n.id}
              onClick={() => props.onSelect?.(n.id)}
              onKeyDown={(e) => e.key === 'Enter' && props.onSelect?.(n.id)}
            >
              <title>{`${n.id}: ${n.state}${n.error ? ` — ${n.error}` : ''}`}</title>
              <rect width={W} height={H} rx={6} />
              <text x={8} y={18} class="dag-label">
                {n.id.length > 22 ? `${n.id.slice(0, 21)}…` : n.id}
              </text>
              <text x={8} y={34} class="dag-sub">
                {n.state}
                {n.task ? ` · ${n.task.length > 14 ? `${n.task.slice(0, 13)}…` : n.task}` : ''}
              </text>
              <rect class="dag-progress" x={0} y={H - 4} width={W * Math.max(0, Math.min(1, progress))} height={4} />
            </g>
          );
        })}
      </svg>
    </div>
  );
}
