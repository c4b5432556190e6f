/**
 * Where a training step's time goes: ORT's profiler writes a Chrome/Perfetto trace (one
 * `model_run` event per step, one `*_kernel_time` event per node); this sums the kernels of
 * the steps after a warm-up by op type (ORT's NCHWc convs, graph/nchwc.ts, apart from its plain ones).
 */
import { readFileSync } from 'node:fs';
import { isNchwcNode } from '../graph/nchwc.js';

interface TraceEvent {
  cat?: string;
  name?: string;
  ts?: number;
  dur?: number;
  args?: { op_name?: string };
}

export interface OpShare {
  op: string;
  /** Kernel time per step, ms. */
  ms: number;
  /** Share of the step's wall time. */
  share: number;
  /** Nodes of this type run per step. */
  nodes: number;
}

export interface ProfileSummary {
  steps: number;
  /** Median wall time of a profiled step (ORT's model_run), ms. */
  stepMs: number;
  ops: OpShare[];
  /** Step time outside the kernels (scheduling, copies, allocation), ms per step. */
  otherMs: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? 0;

export function summarizeTrace(events: readonly TraceEvent[], warmup: number): ProfileSummary {
  const runs = events
    .filter((e) => e.cat === 'Session' && e.name === 'model_run')
    .sort((a, b) => (a.ts ?? 0) - (b.ts ?? 0))
    .slice(warmup);
  const totals = new Map<string, { us: number; nodes: number }>();
  let kernelUs = 0;
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time')) continue;
    const ts = e.ts ?? 0;
    if (!runs.some((r) => ts >= (r.ts ?? 0) && ts <= (r.ts ?? 0) + (r.dur ?? 0))) continue;
    const node = e.name.replace(/_kernel_time$/, '');
    const type = e.args?.op_name ?? node;
    const op = isNchwcNode(node) && type === 'Conv' ? 'Conv (NCHWc)' : type;
    const t = totals.get(op) ?? { us: 0, nodes: 0 };
    t.us += e.dur ?? 0;
    t.nodes++;
    totals.set(op, t);
    kernelUs += e.dur ?? 0;
  }
  const steps = Math.max(runs.length, 1);
  const stepMs = median(runs.map((r) => (r.dur ?? 0) / 1000));
  const wallMs = runs.reduce((s, r) => s + (r.dur ?? 0), 0) / 1000 / steps;
  const ops = [...totals]
    .map(([op, t]) => ({
      op,
      ms: t.us / 1000 / steps,
      share: t.us / 1000 / steps / Math.max(wallMs, 1e-9),
      nodes: t.nodes / steps,
    }))
    .sort((a, b) => b.ms - a.ms);
  return { steps: runs.length, stepMs, ops, otherMs: Math.max(0, wallMs - kernelUs / 1000 / steps) };
}

export function readTrace(file: string): TraceEvent[] {
  return JSON.parse(readFileSync(file, 'utf8')) as TraceEvent[];
}

/** The summary as a table: op type, ms per step, share of the step, nodes per step. */
export function formatProfile(p: ProfileSummary): string {
  const rows = [
    ...p.ops.map((o) => [o.op, o.ms.toFixed(2), `${(100 * o.share).toFixed(1)}%`, String(Math.round(o.nodes))]),
  ];
  const wall = p.ops.reduce((s, o) => s + o.ms, 0) + p.otherMs;
  rows.push([
    '(outside kernels)',
    p.otherMs.toFixed(2),
    `${((100 * p.otherMs) / Math.max(wall, 1e-9)).toFixed(1)}%`,
    '',
  ]);
  const header = ['op type', 'ms/step', 'share', 'nodes'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}
