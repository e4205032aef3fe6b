/**
 * CPU time of a process from /proc/<pid>/stat (Linux), to check that a client stays calm while a server is
 * down.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** User + system CPU seconds a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // fields after the command name (which may hold spaces) start at field 3 (state); utime and stime are 14 and 15
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Measures the share of one core a process uses over a window: call stop() at the end of the window. */
export function cpuMeter(pid: number): { stop(): { seconds: number; cpuSeconds: number; share: number } } {
  const t0 = performance.now();
  const c0 = cpuSeconds(pid);
  return {
    stop() {
      const seconds = (performance.now() - t0) / 1000;
      const used = cpuSeconds(pid) - c0;
      return { seconds, cpuSeconds: used, share: used / seconds };
    },
  };
}
