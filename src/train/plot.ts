/** Training curves as an SVG line chart (loss and accuracy per epoch), rendered to PNG by sharp. */
import sharp from 'sharp';
import type { EpochMetrics } from './core/config.js';

interface Series {
  label: string;
  color: string;
  values: number[];
}

const W = 420;
const H = 300;
const PAD = { left: 56, right: 16, top: 32, bottom: 40 };

function panel(x0: number, title: string, epochs: number[], series: Series[], format: (v: number) => string): string {
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  // a panel with nothing to plot (accuracy, for a regression loss) keeps its frame
  let lo = all.length ? Math.min(...all) : 0;
  let hi = all.length ? Math.max(...all) : 1;
  if (hi - lo < 1e-9) [lo, hi] = [lo - 0.5, hi + 0.5];
  const last = Math.max(epochs.at(-1) ?? 1, 2);
  const px = (e: number) => x0 + PAD.left + ((e - 1) / (last - 1)) * (W - PAD.left - PAD.right);
  const py = (v: number) => PAD.top + (1 - (v - lo) / (hi - lo)) * (H - PAD.top - PAD.bottom);
  const parts = [`<text x="${x0 + W / 2}" y="20" text-anchor="middle" font-size="14">${title}</text>`];
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    parts.push(`<line x1="${x0 + PAD.left}" x2="${x0 + W - PAD.right}" y1="${py(v)}" y2="${py(v)}" stroke="#ddd"/>`);
    parts.push(`<text x="${x0 + PAD.left - 6}" y="${py(v) + 4}" text-anchor="end" font-size="11">${format(v)}</text>`);
  }
  for (const e of epochs) {
    parts.push(`<text x="${px(e)}" y="${H - PAD.bottom + 16}" text-anchor="middle" font-size="11">${e}</text>`);
  }
  parts.push(`<text x="${x0 + W / 2}" y="${H - 6}" text-anchor="middle" font-size="12">epoch</text>`);
  series.forEach((s, k) => {
    // an epoch without the figure has no point
    const known = [...s.values.entries()].filter(([, v]) => Number.isFinite(v));
    const points = known.map(([i, v]) => `${px(epochs[i])},${py(v)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${points}"/>`);
    for (const [i, v] of known) parts.push(`<circle cx="${px(epochs[i])}" cy="${py(v)}" r="2.5" fill="${s.color}"/>`);
    const at = `x="${x0 + W - PAD.right - 4}" y="${PAD.top + 14 + 14 * k}"`;
    parts.push(`<text ${at} text-anchor="end" font-size="11" fill="${s.color}">${s.label}</text>`);
  });
  return parts.join('\n');
}

function curvesSvg(metrics: readonly EpochMetrics[]): string {
  const epochs = metrics.map((m) => m.epoch);
  const percent = (v: number | undefined) => (v === undefined ? Number.NaN : 100 * v);
  const loss = panel(
    0,
    'Loss',
    epochs,
    [
      { label: 'train', color: '#1f77b4', values: metrics.map((m) => m.train_loss) },
      { label: 'test', color: '#d62728', values: metrics.map((m) => m.test_loss ?? Number.NaN) },
    ],
    (v) => v.toFixed(3),
  );
  const acc = panel(
    W,
    'Accuracy (%)',
    epochs,
    [
      { label: 'train', color: '#1f77b4', values: metrics.map((m) => percent(m.train_acc)) },
      { label: 'test', color: '#d62728', values: metrics.map((m) => percent(m.test_acc)) },
    ],
    (v) => v.toFixed(2),
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${loss}
${acc}
</svg>`;
}

export async function curvesPng(metrics: readonly EpochMetrics[]): Promise<Buffer> {
  return sharp(Buffer.from(curvesSvg(metrics)))
    .png()
    .toBuffer();
}
