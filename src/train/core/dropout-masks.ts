/**
 * Dropout keep-masks, drawn in TypeScript from (seed, step, layer) and fed to the graph.
 * Each element is 0 with probability p and 1/(1-p) otherwise. A 32-bit draw decides two
 * elements, 16 bits each: p is realised as round(p * 65536) / 65536 (0.1 -> 0.100006).
 */
import { sfc32 } from '../../util/rng.js';

const DROPOUT_STREAM = 0x64726f70; // 'drop'

/**
 * Fills `out` from the stream (seed, step, layer). The generator (sfc32, as in `Rng`) is
 * inlined with its state in locals: this loop runs over ~6 million elements a step.
 */
function fillDropoutMask(out: Float32Array, p: number, seed: number, step: number, layer: number): void {
  // Branch-free: write the float bit patterns of `keep` or 0 through an integer view.
  const bits = new Int32Array(out.buffer, out.byteOffset, out.length);
  const keep = new Int32Array(Float32Array.of(1 / (1 - p)).buffer)[0];
  const threshold = Math.round(p * 65536);
  // sfc32 after 6 warm-up rounds; its round is written out in the loop below, which runs over
  // ~6 million elements a step (a closure over the state measured 2x slower in V8).
  let { a, b, c, d } = sfc32(6, seed, DROPOUT_STREAM, step, layer);
  // (r - threshold) >> 31 is all ones exactly when r < threshold: those elements drop.
  const n = out.length;
  for (let i = 0; i < n; i += 2) {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    bits[i] = keep & ~(((t & 0xffff) - threshold) >> 31);
    if (i + 1 < n) bits[i + 1] = keep & ~(((t >>> 16) - threshold) >> 31);
  }
}

/** The masks of one training step, one stream per layer. */
export function fillStepMasks(masks: readonly { data: Float32Array; p: number }[], seed: number, step: number): void {
  masks.forEach((m, layer) => {
    fillDropoutMask(m.data, m.p, seed, step, layer);
  });
}
