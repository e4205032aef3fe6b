/**
 * A time-series chart (uPlot on a canvas). Colours come from the theme's CSS variables; the chart resizes
 * with its box. uPlot builds its DOM with createElement and textContent, never HTML strings.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot, { type AlignedData, type Options } from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  /** CSS variable holding the colour, e.g. `--c-waiting`. */
  colorVar: string;
  values: (number | null)[];
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

/** A line chart of series over unix times in ms. */
export function Chart(props: { title: string; times: number[]; series: Series[]; unit?: string; theme: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = `${props.series.map((s) => s.label).join('|')}|${props.theme}`;

  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const axis = { stroke: cssVar('--fg-muted'), grid: { stroke: cssVar('--grid'), width: 1 }, ticks: { stroke: cssVar('--grid'), width: 1 } };
    const opts: Options = {
      width: Math.max(200, el.clientWidth),
      height: 180,
      series: [{}, ...props.series.map((s) => ({ label: s.label, stroke: cssVar(s.colorVar), width: 2, spanGaps: true, points: { show: false } }))],
      axes: [axis, { ...axis, size: 60, values: (_u: uPlot, ticks: number[]) => ticks.map((t) => `${Number(t.toPrecision(3))}${props.unit ?? ''}`) }],
      scales: { x: { time: true } },
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
    };
    const u = new uPlot(opts, toData(props.times, props.series), el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height: 180 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [shape]);

  useEffect(() => {
    plot.current?.setData(toData(props.times, props.series));
  }, [props.times, props.series]);

  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={box} class="chart-box" />
    </figure>
  );
}

function toData(times: number[], series: Series[]): AlignedData {
  return [times.map((t) => t / 1000), ...series.map((s) => s.values)] as AlignedData;
}
