// The bench's verdict table: each measure, its value (median of per-round
// ratios) and spread, the goal, PASS/MISS. It reports; it never fails.
import { median } from './truth-log.js';

export interface Goal {
  readonly op: '<=' | '>=' | '<';
  readonly bound: number;
}

export interface ResultRow {
  /** The target number (1-7), or '' for context rows. */
  readonly target: string;
  readonly measure: string;
  readonly value: number;
  /** Per-round values, when there were rounds. */
  readonly rounds?: readonly number[];
  readonly goal?: Goal;
  readonly unit?: string;
}

export const results: ResultRow[] = [];

/** Record a measure from its per-round values (median reported). */
export function record(target: string, measure: string, rounds: readonly number[], goal?: Goal, unit = ''): void {
  const finite = rounds.filter(Number.isFinite);
  results.push({ target, measure, value: median(finite), rounds: finite, ...(goal ? { goal } : {}), unit });
}

function verdict(r: ResultRow): string {
  if (r.goal === undefined) return '';
  if (!Number.isFinite(r.value)) return 'n/a';
  const { op, bound } = r.goal;
  const ok = op === '<=' ? r.value <= bound : op === '>=' ? r.value >= bound : r.value < bound;
  return ok ? 'PASS' : 'MISS';
}

const fmt = (x: number): string => (Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3)) : '—');

/** Markdown table: paste-able into docs/performance.md. */
export function renderResults(rows: readonly ResultRow[] = results): string {
  const lines = ['| # | measure | value | rounds (min–max) | goal | |', '|---|---|---|---|---|---|'];
  for (const r of rows) {
    const rs = r.rounds ?? [];
    const spread = rs.length > 1 ? `${fmt(Math.min(...rs))}–${fmt(Math.max(...rs))}` : '';
    const goal = r.goal ? `${r.goal.op} ${r.goal.bound}${r.unit ?? ''}` : '';
    lines.push(`| ${r.target} | ${r.measure} | ${fmt(r.value)}${r.unit ?? ''} | ${spread} | ${goal} | ${verdict(r)} |`);
  }
  return lines.join('\n');
}
