/**
 * The training page's chart on a plain canvas: loss per step (log scale: it falls from 2.3 to
 * a few hundredths) with its moving average, and test accuracy at each evaluation on a right
 * axis. Redrawn at most once a frame, however fast the steps arrive.
 */
import { context2d } from '../shared/dom.js';

const PAD = { left: 48, right: 52, top: 12, bottom: 26 };
const LOSS_COLOR = '#36c';
const ACC_COLOR = '#2a8';
/** Weight of the newest loss in the moving average: roughly the last 10 steps. */
const SMOOTHING = 0.1;

export class TrainChart {
  private losses: { step: number; loss: number; smooth: number }[] = [];
  private accuracies: { step: number; acc: number }[] = [];
  private totalSteps = 1;
  private frame = 0;
  private readonly ctx: CanvasRenderingContext2D;

  constructor(private readonly canvas: HTMLCanvasElement) {
    this.ctx = context2d(canvas);
    this.draw();
  }

  reset(totalSteps: number): void {
    this.losses = [];
    this.accuracies = [];
    this.totalSteps = Math.max(totalSteps, 1);
    this.request();
  }

  addLoss(step: number, loss: number): void {
    const previous = this.losses.at(-1)?.smooth ?? loss;
    this.losses.push({ step, loss, smooth: previous + SMOOTHING * (loss - previous) });
    this.request();
  }

  addAccuracy(step: number, acc: number): void {
    this.accuracies.push({ step, acc });
    this.request();
  }

  private request(): void {
    if (!this.frame) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.draw();
      });
    }
  }

  private draw(): void {
    const { ctx, canvas } = this;
    const w = canvas.width - PAD.left - PAD.right;
    const h = canvas.height - PAD.top - PAD.bottom;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.font = '11px system-ui, sans-serif';
    const x = (step: number) => PAD.left + (w * step) / this.totalSteps;
    const loss = this.lossScale(h);
    const acc = this.accuracyScale(h);
    this.axes(w, h, loss, acc);
    this.line(
      this.losses.map((p) => [x(p.step), loss.y(p.loss)]),
      'rgba(51, 102, 204, 0.3)',
      1,
    );
    this.line(
      this.losses.map((p) => [x(p.step), loss.y(p.smooth)]),
      LOSS_COLOR,
      2,
    );
    ctx.fillStyle = ACC_COLOR;
    ctx.textAlign = 'right'; // labels to the left of their point: the last one sits on the right edge
    for (const p of this.accuracies) {
      ctx.beginPath();
      ctx.arc(x(p.step), acc.y(p.acc), 4, 0, 2 * Math.PI);
      ctx.fill();
      ctx.fillText(`${(100 * p.acc).toFixed(2)}%`, x(p.step) - 6, acc.y(p.acc) - 8);
    }
    ctx.textAlign = 'start';
  }

  /** Log scale over the losses seen (at least one decade, so a flat start is not stretched). */
  private lossScale(h: number): { y(v: number): number; ticks: number[] } {
    const values = this.losses.map((p) => p.loss).filter((v) => v > 0);
    const hi = Math.log10(Math.max(...values, 2.5));
    const lo = Math.min(Math.log10(Math.min(...values, 0.25)), hi - 1);
    const ticks = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5].filter((t) => Math.log10(t) >= lo && Math.log10(t) <= hi);
    return { y: (v) => PAD.top + (h * (hi - Math.log10(Math.max(v, 1e-6)))) / (hi - lo), ticks };
  }

  /** From 100% down to just below the lowest accuracy, in whole tens of percent (at least 90% to 100%). */
  private accuracyScale(h: number): { y(v: number): number; ticks: number[] } {
    const lo = Math.min(0.9, Math.floor(10 * Math.min(...this.accuracies.map((p) => p.acc), 1)) / 10);
    const ticks = Array.from({ length: 6 }, (_, i) => lo + ((1 - lo) * i) / 5);
    return { y: (v) => PAD.top + (h * (1 - v)) / (1 - lo), ticks };
  }

  private axes(
    w: number,
    h: number,
    loss: { y(v: number): number; ticks: number[] },
    acc: { y(v: number): number; ticks: number[] },
  ): void {
    const { ctx } = this;
    ctx.strokeStyle = '#ddd';
    ctx.lineWidth = 1;
    ctx.fillStyle = LOSS_COLOR;
    ctx.textAlign = 'right';
    for (const t of loss.ticks) {
      ctx.beginPath();
      ctx.moveTo(PAD.left, loss.y(t));
      ctx.lineTo(PAD.left + w, loss.y(t));
      ctx.stroke();
      ctx.fillText(String(t), PAD.left - 6, loss.y(t) + 4);
    }
    ctx.fillStyle = ACC_COLOR;
    ctx.textAlign = 'left';
    for (const t of acc.ticks) ctx.fillText(`${(100 * t).toFixed(0)}%`, PAD.left + w + 6, acc.y(t) + 4);
    ctx.fillStyle = '#666';
    ctx.textAlign = 'center';
    ctx.fillText(`step (of ${this.totalSteps})`, PAD.left + w / 2, PAD.top + h + 18);
    ctx.textAlign = 'start';
    ctx.strokeStyle = '#999';
    ctx.strokeRect(PAD.left, PAD.top, w, h);
  }

  private line(points: [number, number][], color: string, width: number): void {
    if (points.length < 2) return;
    const { ctx } = this;
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.beginPath();
    ctx.moveTo(...points[0]);
    for (const p of points.slice(1)) ctx.lineTo(...p);
    ctx.stroke();
  }
}
