/**
 * A torchsummary-style table: one row per layer call (output shape, parameters), block
 * subtotals, multiply-accumulates. A layer is a module with no children, or one with state of
 * its own. Blocks are what a model groups: a Sequential's `withBlocks`, else the top-level
 * children that are containers (`block1`, `features`).
 */
import { numel, type Shape } from '../graph/shape.js';
import { evalGraph } from './graphs.js';
import { Sequential } from './layers/containers.js';
import type { Network } from './network.js';

export interface LayerRow {
  /** The block the layer is in, if the model has blocks. */
  block?: string;
  /** Its path in the model: the state_dict prefix (`conv1`, `features.0`). */
  name: string;
  kind: string;
  /** Its one-line description (`Linear 400->120`). */
  description: string;
  outputShape: Shape;
  params: number;
  macs: number;
}

export interface Summary {
  name: string;
  inputShape: readonly number[];
  rows: LayerRow[];
  blocks: { name: string; params: number }[];
  totalParams: number;
  trainableParams: number;
  macsPerImage: number;
  /** The modules' notes (what is frozen and why), each once. */
  notes: string[];
}

/** Top-level child name -> block name. */
function blockOf(net: Network): (path: string) => string | undefined {
  const root = net.root;
  const declared = root instanceof Sequential ? root.blocks : undefined;
  const blocks = new Map<string, string>();
  if (declared) {
    for (const [block, members] of Object.entries(declared)) for (const m of members) blocks.set(m, block);
  } else {
    for (const [name, m] of root.namedChildren()) if (m.namedChildren().length > 0) blocks.set(name, name);
  }
  return (path) => blocks.get(path.split('.')[0]);
}

export function summarize(net: Network): Summary {
  // Emit the evaluation graph once and read every layer's output shape off it.
  const rows: LayerRow[] = [];
  const block = blockOf(net);
  evalGraph(net, 'N', ({ path, module, input, output }) => {
    const own = module.namedState();
    if (module.namedChildren().length > 0 && own.length === 0) return; // a container: its layers have rows
    const params = own.filter(([, e]) => e.trainable).reduce((n, [, e]) => n + numel(e.shape), 0);
    rows.push({
      block: block(path),
      name: path,
      kind: module.kind,
      description: module.describe(),
      outputShape: output.shape,
      params,
      macs: module.macs(input.shape, output.shape),
    });
  });
  const blockNames = [...new Set(rows.map((r) => r.block).filter((b): b is string => b !== undefined))];
  const blocks = blockNames.map((name) => ({
    name,
    params: rows.filter((r) => r.block === name).reduce((n, r) => n + r.params, 0),
  }));
  const totalParams = net.parameterCount;
  return {
    name: net.name,
    inputShape: net.inputShape,
    rows,
    blocks,
    totalParams,
    trainableParams: net.parameterCount,
    macsPerImage: rows.reduce((n, r) => n + r.macs, 0),
    notes: net.notes(),
  };
}

const fmt = (n: number) => n.toLocaleString('en-US');
const shapeText = (shape: Shape) => `[${shape.map((d) => (typeof d === 'number' ? d : 'N')).join(',')}]`;

/** One line per layer, for a model card: `conv1: Conv2d 1->12, 3x3 -> [N,12,28,28] (120)`. */
export function architectureLines(s: Summary): string[] {
  return s.rows.map((r) => `${r.name}: ${r.description} -> ${shapeText(r.outputShape)} (${fmt(r.params)})`);
}

export function formatSummary(s: Summary): string {
  const line = '-'.repeat(72);
  const out = [
    line,
    `${'Layer (type)'.padStart(28)}  ${'Output Shape'.padStart(22)}  ${'Param #'.padStart(12)}`,
    '='.repeat(72),
  ];
  const seen = new Map<string, number>();
  for (const r of s.rows) {
    const k = (seen.get(r.kind) ?? 0) + 1;
    seen.set(r.kind, k);
    const label = `${r.name} (${r.kind}-${k})`;
    const shape = `[${r.outputShape.map((d) => (typeof d === 'number' ? d : -1)).join(', ')}]`; // -1: any batch
    out.push(`${label.padStart(28)}  ${shape.padStart(22)}  ${fmt(r.params).padStart(12)}`);
  }
  out.push('='.repeat(72));
  for (const b of s.blocks) {
    const share = s.totalParams ? ((100 * b.params) / s.totalParams).toFixed(1) : '0.0';
    out.push(`${b.name}: ${fmt(b.params)} params (${share}%)`);
  }
  if (s.blocks.length) out.push(line);
  out.push(`Total params: ${fmt(s.totalParams)}`);
  out.push(`Trainable params: ${fmt(s.trainableParams)}`);
  out.push(`Non-trainable params: ${fmt(s.totalParams - s.trainableParams)}`);
  out.push(...s.notes);
  out.push(`Forward MACs per image: ${fmt(s.macsPerImage)} (${(s.macsPerImage / 1e6).toFixed(2)} M)`);
  out.push(line);
  return out.join('\n');
}
