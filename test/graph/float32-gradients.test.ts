/**
 * Conv, GlobalAveragePool, MaxUnpool (MaxPool's gradient) and Erf have no float64 kernel in ORT,
 * so these gradients (run in float32 by ORT) are checked against finite differences of a
 * float64 JS reference.
 * Tolerance 2e-5 relative: float32 rounding of sums of a few dozen products of O(1) terms.
 */
import { describe, expect, test } from 'vitest';
import * as op from '../../src/graph/ops/index.js';
import { gradCheckAgainstReference } from '../helpers/gradcheck.js';
import {
  averagePoolReference,
  conv2dReference,
  globalAveragePoolReference,
  maxPoolReference,
} from '../helpers/reference.js';

const TOL = 2e-5;

// Portable graphs (WebGPU) make dW's columns with Slices instead of a grouped conv; both are checked.
describe.each([false, true])('Conv gradient (dX, dW, dB) vs float64 reference, portable graph: %s', (portable) => {
  const cases = [
    { label: '3x3 pad 1 (conv1..conv5)', x: [2, 3, 5, 6], w: [4, 3, 3, 3], pads: [1, 1, 1, 1] },
    { label: '3x3 pad 0 (conv6)', x: [2, 3, 5, 5], w: [2, 3, 3, 3], pads: [0, 0, 0, 0] },
    { label: '1x1 (transitions)', x: [3, 4, 3, 3], w: [2, 4, 1, 1], pads: [0, 0, 0, 0] },
    { label: 'one input channel (conv1)', x: [2, 1, 4, 4], w: [3, 1, 3, 3], pads: [1, 1, 1, 1] },
    { label: 'asymmetric pads, 2x3 kernel', x: [1, 2, 4, 5], w: [3, 2, 2, 3], pads: [1, 0, 0, 2] },
    // Strided: dX as one conv over the stride's phases and DepthToSpace (ConvTranspose in portable graphs, for
    // 1x1 kernels and for dilation or groups); the crop restores what a strided conv never read.
    {
      label: 'stride 2, pad 1 (a strided conv instead of max-pooling)',
      x: [2, 3, 7, 6],
      w: [4, 3, 3, 3],
      pads: [1, 1, 1, 1],
      strides: [2, 2],
    },
    {
      label: 'stride 2, no padding, rows left unread',
      x: [1, 2, 6, 5],
      w: [3, 2, 3, 3],
      pads: [0, 0, 0, 0],
      strides: [2, 2],
    },
    { label: 'stride 2, 4x4 kernel, pad 1', x: [1, 3, 8, 7], w: [2, 3, 4, 4], pads: [1, 1, 1, 1], strides: [2, 2] },
    { label: 'stride 3, pad 1', x: [2, 2, 8, 7], w: [3, 2, 3, 3], pads: [1, 1, 1, 1], strides: [3, 3] },
    {
      label: 'stride 2, 3x2 kernel, asymmetric pads',
      x: [1, 2, 7, 6],
      w: [3, 2, 3, 2],
      pads: [1, 0, 0, 1],
      strides: [2, 2],
    },
    { label: 'stride 2, pad 2', x: [1, 2, 5, 6], w: [2, 2, 3, 3], pads: [2, 2, 2, 2], strides: [2, 2] },
    {
      label: 'stride 2, padding past the kernel',
      x: [1, 2, 4, 4],
      w: [2, 2, 3, 3],
      pads: [3, 3, 3, 3],
      strides: [2, 2],
    },
    { label: 'strides 2 and 1', x: [1, 2, 6, 5], w: [2, 2, 3, 3], pads: [1, 1, 1, 1], strides: [2, 1] },
    {
      label: '1x1 with stride 2 (a residual shortcut)',
      x: [2, 4, 5, 5],
      w: [3, 4, 1, 1],
      pads: [0, 0, 0, 0],
      strides: [2, 2],
    },
    { label: 'dilation 2', x: [2, 2, 7, 7], w: [3, 2, 3, 3], pads: [2, 2, 2, 2], dilations: [2, 2] },
    { label: 'groups 2', x: [2, 4, 5, 5], w: [6, 2, 3, 3], pads: [1, 1, 1, 1], group: 2 },
    {
      label: 'depthwise (groups = channels), stride 2',
      x: [2, 3, 6, 6],
      w: [3, 1, 3, 3],
      pads: [1, 1, 1, 1],
      strides: [2, 2],
      group: 3,
    },
    { label: 'depthwise with channel multiplier 2', x: [1, 2, 5, 5], w: [4, 1, 3, 3], pads: [1, 1, 1, 1], group: 2 },
    // Depthwise, stride 1: dX is itself depthwise; dW one grouped conv of the input by dY (the columns in portable graphs).
    { label: 'depthwise, stride 1', x: [3, 4, 5, 6], w: [4, 1, 3, 3], pads: [1, 1, 1, 1], group: 4 },
    { label: 'depthwise 5x5, asymmetric pads', x: [2, 3, 6, 6], w: [3, 1, 5, 5], pads: [2, 1, 2, 3], group: 3 },
    {
      label: 'depthwise, dilation 2',
      x: [2, 2, 7, 7],
      w: [2, 1, 3, 3],
      pads: [2, 2, 2, 2],
      dilations: [2, 2],
      group: 2,
    },
    {
      label: 'depthwise with channel multiplier 3, stride 2',
      x: [2, 2, 7, 6],
      w: [6, 1, 3, 3],
      pads: [1, 1, 1, 1],
      strides: [2, 2],
      group: 2,
    },
    // More filter than image: dW contracts over the batch (a conv of the input by dY; the columns in portable graphs and for groups).
    { label: 'small image, more filter than image', x: [3, 8, 2, 2], w: [8, 8, 3, 3], pads: [1, 1, 1, 1] },
    { label: 'small image, stride 2, pad 1', x: [2, 6, 4, 4], w: [6, 6, 3, 3], pads: [1, 1, 1, 1], strides: [2, 2] },
    {
      label: 'small image, stride 2, rows left unread',
      x: [1, 8, 6, 5],
      w: [8, 8, 3, 3],
      pads: [0, 0, 0, 0],
      strides: [2, 2],
    },
    { label: 'small image, dilation 2', x: [2, 8, 2, 2], w: [8, 8, 3, 3], pads: [2, 2, 2, 2], dilations: [2, 2] },
    { label: 'small image, groups 2', x: [2, 8, 2, 2], w: [8, 4, 3, 3], pads: [1, 1, 1, 1], group: 2 },
  ];
  for (const c of cases) {
    test(c.label, async () => {
      const results = await gradCheckAgainstReference(
        [
          { name: 'x', shape: c.x },
          { name: 'w', shape: c.w },
          { name: 'b', shape: [c.w[0]] },
        ],
        (x, w, b) => op.conv(x, w, b, { pads: c.pads, strides: c.strides, dilations: c.dilations, group: c.group }),
        ([x, w, b]) => conv2dReference(x, c.x, w, c.w, b, c.pads, c).y,
        { portable },
      );
      for (const r of results) {
        expect(r.maxRelError, `${r.name}: analytic vs numeric`).toBeLessThan(TOL);
        expect(Math.max(...r.numeric.map(Math.abs))).toBeGreaterThan(1e-2);
      }
    });
  }
});

/** erf by its Maclaurin series, to float64's precision for |x| <= 3 (finite differences need more than a float32-grade approximation). */
function erfReference(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 80; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

test('Erf gradient (GELU) vs float64 reference', async () => {
  const [r] = await gradCheckAgainstReference(
    [{ name: 'x', shape: [3, 8] }],
    (x) => op.erf(x),
    ([x]) => x.map(erfReference),
  );
  expect(r.maxRelError).toBeLessThan(TOL);
  expect(Math.max(...r.numeric.map(Math.abs))).toBeGreaterThan(1e-2);
});

test('GlobalAveragePool gradient vs float64 reference', async () => {
  const shape = [2, 3, 4, 5];
  const [r] = await gradCheckAgainstReference(
    [{ name: 'x', shape }],
    (x) => op.globalAveragePool(x),
    ([x]) => globalAveragePoolReference(x, shape),
  );
  expect(r.maxRelError).toBeLessThan(TOL);
  expect(Math.max(...r.numeric.map(Math.abs))).toBeGreaterThan(1e-3);
});

// Portable graphs (WebGPU) have no Indices: the gradient is a first-maximum mask; the same values.
for (const portable of [false, true]) {
  describe(`MaxPool gradient vs float64 reference${portable ? ', portable graph (first-maximum mask)' : ''}`, () => {
    // Distinct values in every window so the finite difference never crosses a tie.
    const shape = [2, 3, 4, 6];
    const distinct = Array.from({ length: 144 }, (_, i) => Math.sin(i * 12.9898 + 5) * 2);

    test('2x2, stride 2', async () => {
      const [r] = await gradCheckAgainstReference(
        [{ name: 'x', shape, data: distinct }],
        (x) => op.maxPoolWithIndices(x, 2),
        ([x]) => maxPoolReference(x, shape, 2),
        { eps: 1e-4, portable },
      );
      expect(r.maxRelError).toBeLessThan(TOL);
      expect(r.analytic.filter((v) => v !== 0)).toHaveLength(144 / 4);
    });

    test('2x2, stride 2, on 5x7: the last row and column are in no window', async () => {
      const odd = [1, 2, 5, 7];
      const [r] = await gradCheckAgainstReference(
        [{ name: 'x', shape: odd, data: distinct.slice(0, 70) }],
        (x) => op.maxPoolWithIndices(x, 2),
        ([x]) => maxPoolReference(x, odd, 2),
        { eps: 1e-4, portable },
      );
      expect(r.maxRelError).toBeLessThan(TOL);
      expect(r.analytic.filter((v) => v !== 0)).toHaveLength(2 * 6);
    });

    test('ties go to the first maximum of the window, as in PyTorch', async () => {
      const [r] = await gradCheckAgainstReference(
        [{ name: 'x', shape: [1, 1, 2, 4], data: [0.5, 0.5, 1, 1, 0.5, 0.5, 1, 1] }],
        (x) => op.maxPoolWithIndices(x, 2),
        ([x]) => maxPoolReference(x, [1, 1, 2, 4], 2),
        { portable },
      );
      const g = r.analytic;
      expect([g[1], g[4], g[5], g[3], g[6], g[7]].map(Math.abs)).toEqual([0, 0, 0, 0, 0, 0]); // the mask gives -0 for 0 * a negative dy
      expect(g[0]).not.toBe(0);
      expect(g[2]).not.toBe(0);
    });
  });
}

describe('MaxPool with strides and padding vs float64 reference', () => {
  const shape = [2, 2, 5, 6];
  const distinct = Array.from({ length: 120 }, (_, i) => Math.sin(i * 12.9898 + 5) * 2);
  const cases = [
    { label: '3x3, stride 2 (overlapping windows)', k: 3, stride: 2, pads: [0, 0, 0, 0] },
    { label: '3x3, stride 2, pad 1 (ResNet stem)', k: 3, stride: 2, pads: [1, 1, 1, 1] },
    { label: '2x2, stride 1, pad 1', k: 2, stride: 1, pads: [1, 1, 1, 1] },
  ];
  for (const c of cases) {
    test(c.label, async () => {
      const [r] = await gradCheckAgainstReference(
        [{ name: 'x', shape, data: distinct }],
        (x) => op.maxPoolWithIndices(x, c.k, { strides: [c.stride, c.stride], pads: c.pads }),
        ([x]) => maxPoolReference(x, shape, c.k, c.stride, c.pads),
        { eps: 1e-4 },
      );
      expect(r.maxRelError).toBeLessThan(TOL);
      expect(Math.max(...r.numeric.map(Math.abs))).toBeGreaterThan(1e-2);
    });
  }
});

describe('AveragePool gradient vs float64 reference', () => {
  const shape = [2, 3, 5, 6];
  const cases = [
    {
      label: '2x2, stride 2 (rows left unread)',
      kernel: [2, 2],
      strides: [2, 2],
      pads: [0, 0, 0, 0],
      countIncludePad: false,
    },
    {
      label: '3x3, stride 1, pad 1, count_include_pad 1 (PyTorch default)',
      kernel: [3, 3],
      strides: [1, 1],
      pads: [1, 1, 1, 1],
      countIncludePad: true,
    },
    {
      label: '3x3, stride 2, pad 1, count_include_pad 0',
      kernel: [3, 3],
      strides: [2, 2],
      pads: [1, 1, 1, 1],
      countIncludePad: false,
    },
    {
      label: '2x3, stride [1, 2], asymmetric pads',
      kernel: [2, 3],
      strides: [1, 2],
      pads: [1, 0, 0, 1],
      countIncludePad: false,
    },
  ];
  for (const c of cases) {
    test(c.label, async () => {
      const [r] = await gradCheckAgainstReference(
        [{ name: 'x', shape }],
        (x) => op.averagePool(x, c.kernel, c),
        ([x]) => averagePoolReference(x, shape, c.kernel, c.strides, c.pads, c.countIncludePad),
      );
      expect(r.maxRelError).toBeLessThan(TOL);
      expect(Math.max(...r.numeric.map(Math.abs))).toBeGreaterThan(1e-3);
    });
  }
});
