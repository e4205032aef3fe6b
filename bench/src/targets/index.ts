/** Every benchmark target, in report order. */
import type { Target } from '../target.js';
import { p1 } from './p1-ts-vs-c.js';
import { p2 } from './p2-blocked-gets.js';
import { p4 } from './p4-mem-throughput.js';
import { p5 } from './p5-large-tuples.js';

export const TARGETS: Target[] = [p1, p2, p4, p5];
