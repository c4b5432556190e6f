/** A torchsummary-style table: layer, output shape, parameters; block subtotals; MACs. */
import { numel, type Shape } from '../graph/shape.js';
import { evalGraph } from './graphs.js';
import type { Network } from './network.js';

export interface LayerRow {
  block: string;
  name: string;
  kind: string;
  outputShape: Shape;
  params: number;
  macs: number;
}

export interface Summary {
  rows: LayerRow[];
  blocks: { name: string; params: number }[];
  totalParams: number;
  trainableParams: number;
  macsPerImage: number;
}

export function summarize(net: Network): Summary {
  // Emit the evaluation graph once and read every layer's output shape off it.
  const rows: LayerRow[] = [];
  evalGraph(net, 'N', (layer, block, y) => {
    const params = layer.state.filter((s) => s.trainable).reduce((n, s) => n + numel(s.shape), 0);
    rows.push({ block: block.name, name: layer.name, kind: layer.kind, outputShape: y.shape, params, macs: layer.macs(y.shape) });
  });
  const blocks = net.blocks.map((b) => ({
    name: b.name,
    params: rows.filter((r) => r.block === b.name).reduce((n, r) => n + r.params, 0),
  }));
  const totalParams = rows.reduce((n, r) => n + r.params, 0);
  return {
    rows,
    blocks,
    totalParams,
    trainableParams: net.parameterCount,
    macsPerImage: rows.reduce((n, r) => n + r.macs, 0),
  };
}

const fmt = (n: number) => n.toLocaleString('en-US');

export function formatSummary(s: Summary): string {
  const line = '-'.repeat(72);
  const out = [line, `${'Layer (type)'.padStart(28)}  ${'Output Shape'.padStart(22)}  ${'Param #'.padStart(12)}`, '='.repeat(72)];
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
    const share = ((100 * b.params) / s.totalParams).toFixed(1);
    out.push(`${b.name}: ${fmt(b.params)} params (${share}%)`);
  }
  out.push(line);
  out.push(`Total params: ${fmt(s.totalParams)}`);
  out.push(`Trainable params: ${fmt(s.trainableParams)}`);
  out.push(`Non-trainable params: ${fmt(s.totalParams - s.trainableParams)}`);
  out.push(`Forward MACs per image: ${fmt(s.macsPerImage)} (${(s.macsPerImage / 1e6).toFixed(2)} M)`);
  out.push(line);
  return out.join('\n');
}
