/** Every benchmark target, in report order. */
import type { Target } from '../target.js';
import { p1 } from './p1-ts-vs-c.js';
import { p2 } from './p2-blocked-gets.js';
import { p3 } from './p3-task-throughput.js';
import { p4 } from './p4-mem-throughput.js';
import { p5 } from './p5-large-tuples.js';
import { p6 } from './p6-waiting-task-memory.js';
import { p7 } from './p7-scaling.js';

export const TARGETS: Target[] = [p1, p2, p3, p4, p5, p6, p7];
