/** Plain float64 reference implementations for ops ORT cannot run in float64. */

/** conv2d, NCHW x OIHW, stride 1, pads [top, left, bottom, right]. */
export function conv2dReference(
  x: Float64Array,
  [n, c, h, w]: readonly number[],
  weight: Float64Array,
  [o, , kh, kw]: readonly number[],
  bias: Float64Array | undefined,
  [pt, pl, pb, pr]: readonly number[],
): { y: Float64Array; shape: number[] } {
  const oh = h + pt + pb - kh + 1;
  const ow = w + pl + pr - kw + 1;
  const y = new Float64Array(n * o * oh * ow);
  for (let b = 0; b < n; b++)
    for (let k = 0; k < o; k++)
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          let s = bias ? bias[k] : 0;
          for (let ch = 0; ch < c; ch++)
            for (let u = 0; u < kh; u++)
              for (let v = 0; v < kw; v++) {
                const r = i + u - pt;
                const q = j + v - pl;
                if (r < 0 || r >= h || q < 0 || q >= w) continue;
                s += x[((b * c + ch) * h + r) * w + q] * weight[((k * c + ch) * kh + u) * kw + v];
              }
          y[((b * o + k) * oh + i) * ow + j] = s;
        }
  return { y, shape: [n, o, oh, ow] };
}

/** Mean over H, W: [N,C,H,W] -> [N,C,1,1]. */
export function globalAveragePoolReference(x: Float64Array, [n, c, h, w]: readonly number[]): Float64Array {
  const y = new Float64Array(n * c);
  for (let i = 0; i < n * c; i++) {
    let s = 0;
    for (let j = 0; j < h * w; j++) s += x[i * h * w + j];
    y[i] = s / (h * w);
  }
  return y;
}

/** k x k max pooling with stride k; ties go to the first maximum in row-major order. */
export function maxPoolReference(x: Float64Array, [n, c, h, w]: readonly number[], k: number): Float64Array {
  const oh = Math.floor(h / k);
  const ow = Math.floor(w / k);
  const y = new Float64Array(n * c * oh * ow);
  for (let p = 0; p < n * c; p++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        let m = -Infinity;
        for (let u = 0; u < k; u++) for (let v = 0; v < k; v++) m = Math.max(m, x[(p * h + i * k + u) * w + j * k + v]);
        y[(p * oh + i) * ow + j] = m;
      }
  return y;
}
