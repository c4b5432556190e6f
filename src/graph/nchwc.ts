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
 *  - OIHWBo, for inputs of fewer channels than a block, read as NCHW: [O/B][I][kh][kw][Bo]; and
 *    for depthwise convs (I = 1, group = channels), on NCHWc inputs.
 * Output channels are padded with zero filters to a whole block (ReorderOutput drops them),
 * and input channels with zeros (ReorderInput writes them; the filter gets zero rows).
 *
 * This is a lowering at serialisation (`serializeModel(..., { lowering })`): the graph, its
 * autodiff and every file a run writes keep the standard Conv.
 */
import type onnxProto from 'onnx-proto';
import { type Node, nodeOf, type Tensor } from './builder.js';
import { Conv } from './ops/conv.js';
import { Transpose } from './ops/movement.js';
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

/**
 * The tensor a conv's filter is read from: the filter itself, or, where the filter is
 * `Transpose(v, [1, 0, 2, 3])` (a conv's input gradient runs on the forward's weights with in
 * and out swapped), `v`, the swap then folded into the reorder and the Transpose left unused.
 */
function filterSource(w: Tensor): { source: Tensor; swapped: boolean } {
  const producer = w.graph.producer(w);
  const transpose = producer && nodeOf(producer, Transpose);
  return transpose?.attrs.perm.join() === '1,0,2,3' && isStatic(transpose.inputs[0].shape)
    ? { source: transpose.inputs[0], swapped: true }
    : { source: w, swapped: false };
}

/** How a conv maps onto the NCHWc kernels, or undefined where it stays a plain Conv. */
function plan(node: Node, block: number, constants: ReadonlySet<string>) {
  const convNode = nodeOf(node, Conv);
  if (!convNode) return undefined;
  const { attrs, inputs } = convNode;
  const group = attrs.group ?? 1;
  // Dilated convs stay plain (the lowering writes only kernel, pads, strides and group).
  if ((attrs.dilations ?? []).some((d) => d !== 1)) return undefined;
  const [x, w] = inputs;
  // The batch may be symbolic (the evaluation graph); the filter may not.
  if (x.rank !== 4 || w.rank !== 4 || !isStatic(w.shape) || constants.has(w.name)) return undefined;
  const ws = w.shape;
  const [cout, cin] = ws;
  const whole = (c: number) => Math.ceil(c / block) * block;
  const conv = { x, b: inputs[2], cin, cout, kernel: [ws[2], ws[3]], attrs, group, ...filterSource(w) };
  // Depthwise (one channel per group, whole blocks of them, as ORT's own rewrite takes it): MLAS's
  // depthwise kernel, the filter [C, 1, kh, kw] in OIHWBo. Other grouped convs stay plain.
  if (group !== 1) {
    const depthwise = cin === 1 && cout === group && cout % block === 0 && !conv.swapped;
    return depthwise ? { ...conv, nchwInput: false, oihwBo: true, paddedIn: 1, paddedOut: cout } : undefined;
  }
  // Input channels a multiple of 4 (ReorderInput's limit): the NCHWc algorithm, the input
  // padded with zero channels to whole blocks (measured faster than the NCHW algorithm for 12
  // channels). Otherwise, below one block: the NCHW algorithm, which reads the input as it is,
  // taken only where no output channel is padding (conv1's 1 -> 12 was slower lowered).
  if (cin % 4 === 0) return { ...conv, nchwInput: false, oihwBo: false, paddedIn: whole(cin), paddedOut: whole(cout) };
  if (cin < block && cout % block === 0)
    return { ...conv, nchwInput: true, oihwBo: true, paddedIn: cin, paddedOut: cout };
  return undefined;
}

type Plan = NonNullable<ReturnType<typeof plan>>;

/** Proto nodes and their constants, named after the conv they lower. */
class Emitter {
  readonly nodes: onnxProto.onnx.INodeProto[] = [];
  readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  constructor(private readonly convName: string) {}

  id(what: string): string {
    return `${this.convName}${NODE_MARK}${what}`;
  }

  constant(what: string, values: readonly number[]): string {
    this.initializers.push(int64Initializer(this.id(what), values));
    return this.id(what);
  }

  node(what: string, opType: string, input: string[], attribute: onnxProto.onnx.IAttributeProto[] = [], domain = '') {
    this.nodes.push({ name: this.id(what), opType, domain, input, output: [this.id(what)], attribute });
    return this.id(what);
  }

  /** `x` viewed as `shape`, then its axes permuted. */
  move(what: string, x: string, shape: readonly number[], perm: readonly number[]): string {
    const viewed = this.node(`view_${what}`, 'Reshape', [x, this.constant(`${what}_shape`, shape)]);
    return this.node(what, 'Transpose', [viewed], [ints('perm', perm)]);
  }
}

/**
 * The filter in MLAS's layout, viewed as [O, I, kh, kw] (the shape NchwcConv checks): zero
 * channels to whole blocks, then transposes that each move one axis (ORT runs those with MLAS's
 * transpose; one 6-D permutation went element by element: 7 ms for resnet18's 512x512x3x3).
 */
function reorderedFilter(e: Emitter, p: Plan, block: number): string {
  const [kh, kw] = p.kernel;
  const k = kh * kw;
  const [outPad, inPad] = [p.paddedOut - p.cout, p.paddedIn - p.cin];
  const padAxes = p.swapped ? [inPad, outPad] : [outPad, inPad];
  let filter = p.source.name;
  if (outPad > 0 || inPad > 0)
    filter = e.node('pad_filter', 'Pad', [filter, e.constant('filter_pads', [0, 0, 0, 0, ...padAxes, 0, 0])]);
  const [outBlocks, inBlocks, inBlock] = p.oihwBo
    ? [p.paddedOut / block, p.paddedIn, 1]
    : [p.paddedOut / block, p.paddedIn / block, block];
  if (p.swapped) {
    // From [I, O, kh, kw]: [I, O*k] -> [O*k, I] = [O/B, Bo, k, I/B, Bi]; Bo to the end; then k after I/B.
    filter = e.move('reorder_filter0', filter, [p.paddedIn, p.paddedOut * k], [1, 0]);
    filter = e.move('reorder_filter1', filter, [outBlocks, block, k * p.paddedIn], [0, 2, 1]);
    filter = e.move('reorder_filter2', filter, [outBlocks, k, inBlocks, inBlock * block], [0, 2, 1, 3]);
  } else {
    // From [O, I, kh, kw]: Bo to the end, [O/B, Bo, I*k] -> [O/B, I*k, Bo] (OIHWBo); then, for
    // NCHWc input to a dense conv, Bi after kh, kw: [O/B * I/B, Bi, k, Bo] -> [O/B * I/B, k, Bi, Bo] (OIHWBiBo).
    filter = e.move('reorder_filter0', filter, [outBlocks, block, p.paddedIn * k], [0, 2, 1]);
    if (!p.oihwBo) filter = e.move('reorder_filter1', filter, [outBlocks * inBlocks, block, k, block], [0, 2, 1, 3]);
  }
  return e.node('filter', 'Reshape', [filter, e.constant('filter_shape', [p.paddedOut, p.paddedIn, kh, kw])]);
}

/** The bias padded with zeros to whole blocks of output channels, if it has any. */
function paddedBias(e: Emitter, p: Plan): string | undefined {
  const extra = p.paddedOut - p.cout;
  if (!p.b || extra === 0) return p.b?.name;
  return e.node('pad_bias', 'Pad', [p.b.name, e.constant('bias_pads', [0, extra])]);
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
      const e = new Emitter(node.name);
      const filter = reorderedFilter(e, p, block);
      const bias = paddedBias(e, p);
      const input = p.nchwInput ? p.x.name : e.node('reorder_input', 'ReorderInput', [p.x.name], [], NCHWC_DOMAIN);
      const { kernel_shape, pads, strides } = p.attrs;
      const attributes = [ints('kernel_shape', kernel_shape), ints('pads', pads), ints('strides', strides)];
      if (p.group !== 1) attributes.push(int('group', p.group));
      const output = e.node('conv', 'Conv', [input, filter, ...(bias ? [bias] : [])], attributes, NCHWC_DOMAIN);
      e.nodes.push({
        name: e.id('reorder_output'),
        opType: 'ReorderOutput',
        domain: NCHWC_DOMAIN,
        input: [output],
        output: [node.outputs[0].name],
        attribute: [int('channels', p.cout)],
      });
      return { nodes: e.nodes, initializers: e.initializers };
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
