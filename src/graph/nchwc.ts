/**
 * Conv nodes lowered to ONNX Runtime's NCHWc kernels (domain `com.microsoft.nchwc`), for
 * ORT's CPU provider on processors where it has them (x86-64 with AVX2: blocks of 8
 * channels; AVX-512: 16).
 *
 * ORT rewrites a Conv to these kernels itself, but only when its weights are constant
 * initializers (it reorders them once, at load). In a training step the weights are inputs,
 * so every conv fell back to im2col + GEMM. Here the filter is reordered in the graph, each
 * step (a few thousand values), and the activations go through ORT's own ReorderInput /
 * ReorderOutput kernels. The layouts are MLAS's:
 *  - OIHWBiBo, for inputs in NCHWc blocks: filter [O/B][I/B][kh][kw][Bi][Bo];
 *  - OIHWBo, for inputs of fewer channels than a block, read as NCHW: [O/B][I][kh][kw][Bo].
 * Output channels are padded with zero filters to a whole block (ReorderOutput drops them),
 * and input channels with zeros (ReorderInput writes them; the filter gets zero rows).
 *
 * This is a lowering at serialisation (`serializeModel(..., { lowering })`): the graph, its
 * autodiff and every file a run writes keep the standard Conv.
 */
import type onnxProto from 'onnx-proto';
import type { Node } from './builder.js';
import type { ConvAttrs } from './ops/conv.js';
import { attributeProto, type Lowering, type LoweredNode, onnx } from './serialize.js';
import { isStatic } from './shape.js';

export const NCHWC_DOMAIN = 'com.microsoft.nchwc';
/** Marks the names of the nodes a lowered conv becomes (`<conv node>.nchwc.<step>`). */
const NODE_MARK = '.nchwc.';

/** True for a node that lowering made (profiles tell ORT's NCHWc convs from its plain ones by it). */
export const isNchwcNode = (nodeName: string): boolean => nodeName.includes(NODE_MARK);

const ints = (name: string, values: readonly number[]) => attributeProto(name, 'ints', values);
const int = (name: string, value: number) => attributeProto(name, 'int', value);

function int64Initializer(name: string, values: readonly number[]) {
  const data = new BigInt64Array(values.map(BigInt));
  return {
    name,
    dims: [values.length],
    dataType: onnx.TensorProto.DataType.INT64,
    rawData: new Uint8Array(data.buffer),
  };
}

/** How a conv maps onto the NCHWc kernels, or undefined where it stays a plain Conv. */
function plan(node: Node, block: number, constants: ReadonlySet<string>) {
  const attrs = node.attrs as unknown as ConvAttrs;
  // Grouped and dilated convs stay plain: the lowering writes only kernel, pads and strides.
  if (node.op.type !== 'Conv' || (attrs.group ?? 1) !== 1 || (attrs.dilations ?? []).some((d) => d !== 1))
    return undefined;
  const [x, w] = node.inputs;
  // The batch may be symbolic (the evaluation graph); the filter may not.
  if (!x || !w || x.rank !== 4 || w.rank !== 4 || !isStatic(w.shape) || constants.has(w.name)) return undefined;
  const ws = w.shape;
  const [cout, cin] = ws;
  const whole = (c: number) => Math.ceil(c / block) * block;
  // Input channels a multiple of 4 (ReorderInput's limit): the NCHWc algorithm, the input
  // padded with zero channels to whole blocks (measured faster than the NCHW algorithm for 12
  // channels). Otherwise, below one block: the NCHW algorithm, which reads the input as it is,
  // taken only where no output channel is padding (conv1's 1 -> 12 was slower lowered).
  const conv = { x, w, b: node.inputs[2], cin, cout, kernel: [ws[2], ws[3]] };
  if (cin % 4 === 0) return { ...conv, nchwInput: false, paddedIn: whole(cin), paddedOut: whole(cout) };
  if (cin < block && cout % block === 0) return { ...conv, nchwInput: true, paddedIn: cin, paddedOut: cout };
  return undefined;
}

/**
 * The lowering for a CPU build whose NCHWc block is `block` channels (see
 * `nchwcBlockSize` in train/node-runtime.ts); `block` 1 means the build has none, and nothing is lowered.
 */
export function nchwcLowering(block: number): Lowering | undefined {
  if (block <= 1) return undefined;
  return {
    domains: [{ domain: NCHWC_DOMAIN, version: 1 }],
    lower(node, constants): LoweredNode | undefined {
      const p = plan(node, block, constants);
      if (!p) return undefined;
      const attrs = node.attrs as unknown as ConvAttrs;
      const id = (what: string) => `${node.name}${NODE_MARK}${what}`;
      const nodes: onnxProto.onnx.INodeProto[] = [];
      const initializers: onnxProto.onnx.ITensorProto[] = [];
      const [kh, kw] = p.kernel;
      const extra = p.paddedOut - p.cout;

      let filter = p.w.name;
      let bias = p.b?.name;
      if (extra > 0 || p.paddedIn > p.cin) {
        initializers.push(int64Initializer(id('filter_pads'), [0, 0, 0, 0, extra, p.paddedIn - p.cin, 0, 0]));
        nodes.push({
          name: id('pad_filter'),
          opType: 'Pad',
          input: [filter, id('filter_pads')],
          output: [id('filter_padded')],
        });
        filter = id('filter_padded');
        if (bias && extra > 0) {
          initializers.push(int64Initializer(id('bias_pads'), [0, extra]));
          nodes.push({
            name: id('pad_bias'),
            opType: 'Pad',
            input: [bias, id('bias_pads')],
            output: [id('bias_padded')],
          });
          bias = id('bias_padded');
        }
      }
      // [O, I, kh, kw] -> OIHWBo or OIHWBiBo, viewed again as [O, I, kh, kw] (the shape NchwcConv checks),
      // as transposes that each move one axis (ORT runs those with MLAS's transpose; one 6-D
      // permutation went element by element: 7 ms for resnet18's 512x512x3x3 filters).
      // Bo to the end: [O/B, Bo, I*kh*kw] -> [O/B, I*kh*kw, Bo], i.e. OIHWBo.
      const stages: [number[], number[]][] = [
        [
          [p.paddedOut / block, block, p.paddedIn * kh * kw],
          [0, 2, 1],
        ],
      ];
      // Then Bi after kh, kw: [O/B * I/B, Bi, kh*kw, Bo] -> [O/B * I/B, kh*kw, Bi, Bo], i.e. OIHWBiBo.
      if (!p.nchwInput)
        stages.push([
          [(p.paddedOut / block) * (p.paddedIn / block), block, kh * kw, block],
          [0, 2, 1, 3],
        ]);
      stages.forEach(([shape, perm], i) => {
        const [viewed, moved] = [id(`filter_view${i}`), id(`filter_moved${i}`)];
        initializers.push(int64Initializer(id(`filter_shape${i}`), shape));
        nodes.push(
          { name: id(`view_filter${i}`), opType: 'Reshape', input: [filter, id(`filter_shape${i}`)], output: [viewed] },
          {
            name: id(`reorder_filter${i}`),
            opType: 'Transpose',
            input: [viewed],
            output: [moved],
            attribute: [ints('perm', perm)],
          },
        );
        filter = moved;
      });
      initializers.push(int64Initializer(id('filter_shape'), [p.paddedOut, p.paddedIn, kh, kw]));
      nodes.push({
        name: id('view_filter'),
        opType: 'Reshape',
        input: [filter, id('filter_shape')],
        output: [id('filter')],
      });
      let input = p.x.name;
      if (!p.nchwInput) {
        nodes.push({
          name: id('reorder_input'),
          opType: 'ReorderInput',
          domain: NCHWC_DOMAIN,
          input: [input],
          output: [id('input')],
        });
        input = id('input');
      }
      nodes.push(
        {
          name: id('conv'),
          opType: 'Conv',
          domain: NCHWC_DOMAIN,
          input: [input, id('filter'), ...(bias ? [bias] : [])],
          output: [id('output')],
          attribute: [
            ints('kernel_shape', attrs.kernel_shape),
            ints('pads', attrs.pads),
            ints('strides', attrs.strides),
          ],
        },
        {
          name: id('reorder_output'),
          opType: 'ReorderOutput',
          domain: NCHWC_DOMAIN,
          input: [id('output')],
          output: [node.outputs[0].name],
          attribute: [int('channels', p.cout)],
        },
      );
      return { nodes, initializers };
    },
  };
}

/** Input and output names of `nchwcProbeModel`. */
export const PROBE_INPUT = 'x';
export const PROBE_OUTPUT = 'y';

/**
 * A model that tells a runtime's NCHWc block size: ReorderInput pads 4 channels up to one
 * block, so the output's dim 1 is the block. A build without the kernels fails to load it.
 */
export function nchwcProbeModel(): Uint8Array {
  const value = (name: string, channels: number | string) => ({
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: [1, channels, 1, 1].map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [
      { domain: '', version: 18 },
      { domain: NCHWC_DOMAIN, version: 1 },
    ],
    graph: {
      name: 'nchwc-probe',
      node: [
        { name: 'reorder', opType: 'ReorderInput', domain: NCHWC_DOMAIN, input: [PROBE_INPUT], output: [PROBE_OUTPUT] },
      ],
      input: [value(PROBE_INPUT, 4)],
      output: [value(PROBE_OUTPUT, 'block')],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
