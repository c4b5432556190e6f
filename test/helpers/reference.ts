/** Plain float64 reference implementations for ops ORT cannot run in float64. */

export interface ConvReferenceOptions {
  strides?: readonly number[];
  dilations?: readonly number[];
  group?: number;
}

/** conv2d, NCHW x OIHW (I = C / group), pads [top, left, bottom, right], any stride, dilation and groups. */
export function conv2dReference(
  x: Float64Array,
  [n, c, h, w]: readonly number[],
  weight: Float64Array,
  [o, ci, kh, kw]: readonly number[],
  bias: Float64Array | undefined,
  [pt, pl, pb, pr]: readonly number[],
  { strides: [sh, sw] = [1, 1], dilations: [dh, dw] = [1, 1], group = 1 }: ConvReferenceOptions = {},
): { y: Float64Array; shape: number[] } {
  const oh = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((w + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  const perGroup = o / group;
  const y = new Float64Array(n * o * oh * ow);
  for (let b = 0; b < n; b++)
    for (let k = 0; k < o; k++)
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          let s = bias ? bias[k] : 0;
          const g = Math.floor(k / perGroup);
          for (let cl = 0; cl < ci; cl++)
            for (let u = 0; u < kh; u++)
              for (let v = 0; v < kw; v++) {
                const r = i * sh + u * dh - pt;
                const q = j * sw + v * dw - pl;
                if (r < 0 || r >= h || q < 0 || q >= w) continue;
                s += x[((b * c + g * ci + cl) * h + r) * w + q] * weight[((k * ci + cl) * kh + u) * kw + v];
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

/**
 * Pooling windows of [kh, kw] with strides and pads [top, left, bottom, right];
 * calls `reduce` with each window's in-bounds values.
 */
function pool(
  x: Float64Array,
  [n, c, h, w]: readonly number[],
  [kh, kw]: readonly number[],
  [sh, sw]: readonly number[],
  [pt, pl, pb, pr]: readonly number[],
  reduce: (values: number[]) => number,
): Float64Array {
  const oh = Math.floor((h + pt + pb - kh) / sh) + 1;
  const ow = Math.floor((w + pl + pr - kw) / sw) + 1;
  const y = new Float64Array(n * c * oh * ow);
  for (let p = 0; p < n * c; p++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        const values: number[] = [];
        for (let u = 0; u < kh; u++)
          for (let v = 0; v < kw; v++) {
            const r = i * sh + u - pt;
            const q = j * sw + v - pl;
            if (r >= 0 && r < h && q >= 0 && q < w) values.push(x[(p * h + r) * w + q]);
          }
        y[(p * oh + i) * ow + j] = reduce(values);
      }
  return y;
}

/** k x k max pooling (stride k unless given); ties go to the first maximum in row-major order. */
export function maxPoolReference(
  x: Float64Array,
  shape: readonly number[],
  k: number,
  stride = k,
  pads: readonly number[] = [0, 0, 0, 0],
): Float64Array {
  return pool(x, shape, [k, k], [stride, stride], pads, (v) => Math.max(...v));
}

/** Average pooling: the divisor is the whole window (count_include_pad) or its in-bounds cells. */
export function averagePoolReference(
  x: Float64Array,
  shape: readonly number[],
  kernel: readonly number[],
  strides: readonly number[],
  pads: readonly number[],
  countIncludePad: boolean,
): Float64Array {
  return pool(
    x,
    shape,
    kernel,
    strides,
    pads,
    (v) => v.reduce((a, b) => a + b, 0) / (countIncludePad ? kernel[0] * kernel[1] : v.length),
  );
}
