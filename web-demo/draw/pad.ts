/**
 * The draw page's pad: strokes with a mouse, finger or pen, Clear and Escape, and an image
 * dropped on it or opened. It hands pictures to `read` (at most every THROTTLE_MS while a
 * stroke goes on, and once when it ends) and knows nothing of models.
 */
import { MAX_IMAGE_PIXELS, type RgbaImage } from '../../src/preprocess/mnist-style.js';
import { byTestId, context2d } from '../shared/dom.js';

const PEN_WIDTH = 20;
const THROTTLE_MS = 80;
/** The longest side an opened image is read at (see open). */
const OPEN_SIDE = 1024;

export interface PadEvents {
  /** Reads a picture; returns why there is no answer (no digit in it), or undefined. */
  read(image: RgbaImage): Promise<string | undefined>;
  /** The pad was cleared. */
  cleared(): void;
  /** An opened file's outcome, for the status line. */
  opened(text: string, error: boolean): void;
}

export class DrawingPad {
  private readonly canvas = byTestId<HTMLCanvasElement>('canvas');
  private readonly ctx = context2d(this.canvas, { willReadFrequently: true });
  private drawing: [number, number] | null = null;
  private busy = false;
  private pending = false;
  private lastRun = 0;

  constructor(private readonly events: PadEvents) {
    this.canvas.addEventListener('pointerdown', (e) => this.down(e));
    this.canvas.addEventListener('pointermove', (e) => this.move(e));
    this.canvas.addEventListener('pointerup', () => this.endStroke());
    this.canvas.addEventListener('pointercancel', () => this.endStroke());
    byTestId('clear').addEventListener('click', () => this.clear());
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.clear();
    });
    this.canvas.addEventListener('dragover', (e) => {
      e.preventDefault();
      this.canvas.classList.add('drop');
    });
    this.canvas.addEventListener('dragleave', () => this.canvas.classList.remove('drop'));
    this.canvas.addEventListener('drop', (e) => {
      e.preventDefault();
      this.canvas.classList.remove('drop');
      const file = e.dataTransfer?.files[0];
      if (file) void this.open(file);
    });
    byTestId<HTMLInputElement>('file').addEventListener('change', (e) => {
      const file = (e.target as HTMLInputElement).files?.[0];
      if (file) void this.open(file);
    });
  }

  clear(): void {
    this.ctx.fillStyle = '#fff';
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.events.cleared();
  }

  private point(e: PointerEvent): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    return [
      ((e.clientX - r.left) * this.canvas.width) / r.width,
      ((e.clientY - r.top) * this.canvas.height) / r.height,
    ];
  }

  private down(e: PointerEvent): void {
    this.canvas.setPointerCapture(e.pointerId);
    this.drawing = this.point(e);
    this.ctx.fillStyle = '#000';
    this.ctx.beginPath();
    this.ctx.arc(this.drawing[0], this.drawing[1], PEN_WIDTH / 2, 0, 2 * Math.PI);
    this.ctx.fill();
    void this.readCanvas();
  }

  private move(e: PointerEvent): void {
    if (!this.drawing) return;
    const to = this.point(e);
    Object.assign(this.ctx, { strokeStyle: '#000', lineWidth: PEN_WIDTH, lineCap: 'round', lineJoin: 'round' });
    this.ctx.beginPath();
    this.ctx.moveTo(...this.drawing);
    this.ctx.lineTo(...to);
    this.ctx.stroke();
    this.drawing = to;
    void this.readCanvas();
  }

  private endStroke(): void {
    if (!this.drawing) return;
    this.drawing = null;
    void this.readCanvas(true);
  }

  /** Live reading while drawing, at most every THROTTLE_MS, and always once a stroke ends. */
  private async readCanvas(force = false): Promise<void> {
    if (this.busy || (!force && performance.now() - this.lastRun < THROTTLE_MS)) {
      this.pending = true;
      return;
    }
    this.busy = true;
    this.pending = false;
    this.lastRun = performance.now();
    try {
      await this.events.read(this.ctx.getImageData(0, 0, this.canvas.width, this.canvas.height));
    } finally {
      this.busy = false;
      if (this.pending) void this.readCanvas(true);
    }
  }

  /**
   * An image file: drawn onto the canvas to show it, and read. A phone photo's EXIF orientation
   * is applied ('from-image', the spec's default, asked for explicitly because older browsers
   * ignored the tag), so an upright 6 stored upside down is not read 9. A large picture is read
   * at OPEN_SIDE pixels a side at most: a digit needs far less, and canvases have size limits
   * (a 100000x3 picture would give no canvas at all).
   */
  async open(file: File): Promise<void> {
    let bitmap: ImageBitmap;
    try {
      bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
    } catch {
      return this.events.opened(`error: ${file.name} is not an image this browser can read`, true);
    }
    const { width, height } = bitmap;
    if (width * height > MAX_IMAGE_PIXELS) {
      return this.events.opened(
        `error: ${file.name} is ${width}x${height} pixels, ` +
          `more than the page reads (${MAX_IMAGE_PIXELS / 1e6} megapixels)`,
        true,
      );
    }
    const scale = Math.min(1, OPEN_SIDE / Math.max(width, height));
    const w = Math.max(1, Math.round(width * scale));
    const h = Math.max(1, Math.round(height * scale));
    const fitted =
      scale < 1 ? await createImageBitmap(bitmap, { resizeWidth: w, resizeHeight: h, resizeQuality: 'high' }) : bitmap;
    const full = new OffscreenCanvas(w, h).getContext('2d', { willReadFrequently: true });
    if (!full)
      return this.events.opened(
        `error: ${file.name} (${width}x${height} pixels) cannot be drawn in this browser`,
        true,
      );
    full.drawImage(fitted, 0, 0);
    const pixels = full.getImageData(0, 0, w, h);
    this.clear();
    const shown = Math.min(this.canvas.width / w, this.canvas.height / h);
    this.ctx.drawImage(
      fitted,
      (this.canvas.width - w * shown) / 2,
      (this.canvas.height - h * shown) / 2,
      w * shown,
      h * shown,
    );
    const noAnswer = await this.events.read(pixels);
    // A drawing in progress may be blank; an opened file with nothing to read says so.
    this.events.opened(
      noAnswer ? `${file.name} (${width}x${height} pixels): ${noAnswer}` : 'ready',
      noAnswer !== undefined,
    );
  }
}
