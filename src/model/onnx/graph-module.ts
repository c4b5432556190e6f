/**
 * An imported ONNX graph as a Module: its nodes emitted again, in order, by their converters
 * (converters.ts); a Conv, a BatchNormalization, a Gemm (PyTorch's Linear) or a Dropout whose
 * state is named like a PyTorch module's (`<prefix>.weight`, ...) becomes that module (Conv2d,
 * BatchNorm2d, Linear, Dropout) at that prefix, so that BatchNorm folds into its conv on export
 * and the summary names the layers. The other initializers are its own state (`looseState`).
 */
import type { Tensor } from '../../graph/builder.js';
import { ShapeError } from '../../graph/shape.js';
import type { TensorValues } from '../../graph/tensor-proto.js';
import { BatchNorm2d } from '../layers/batch-norm.js';
import { Conv2d } from '../layers/conv.js';
import { Dropout } from '../layers/dropout.js';
import { Linear } from '../layers/linear.js';
import { type Context, Module, Parameter, StateBuffer, type StateEntry } from '../module.js';
import { float, int, ints, parseAttributes } from './attributes.js';
import { CONVERTERS, type NodeInputs } from './converters.js';
import { constantValue } from './folding.js';
import { type StateRoles, stateRoles } from './state-roles.js';
import { ImportError, isKnown, type Known, known, type NodeP, tensorOf, type Value } from './values.js';
import { floatData } from '../../util/tensor-data.js';

/** What the importer made of a node: a layer module, or an op emitted in place. */
type Step = { node: NodeP; module?: Module };

/** The common prefix of state_dict-style names `<prefix>.<local>` for the given locals, if they all have one. */
function modulePrefix(names: (string | undefined)[], locals: string[]): string | undefined {
  const prefixes = names.map((n, i) => (n?.endsWith(`.${locals[i]}`) ? n.slice(0, -locals[i].length - 1) : undefined));
  const [first] = prefixes;
  return first && !first.includes('::') && prefixes.every((p) => p === first) ? first : undefined;
}

const CONV = { pads: ints(), kernel_shape: ints(), strides: ints(), dilations: ints(), group: int(1) };
const GEMM = { transA: int(0), transB: int(0), alpha: float(1), beta: float(1) };
const BATCH_NORM = { epsilon: float(1e-5), momentum: float(0.9) };

export class OnnxGraphModule extends Module {
  readonly children = new Map<string, Module>();
  /** Initializers that no layer module took: parameters and buffers by name, the rest constants. */
  readonly looseState = new Map<string, StateEntry>();
  private readonly steps: Step[] = [];
  /** Initializers that a layer module holds (as its weight, bias, ...). */
  private readonly taken = new Set<string>();
  private readonly roles: StateRoles;

  constructor(
    private readonly nodes: readonly NodeP[],
    readonly initializers: ReadonlyMap<string, TensorValues>,
    private readonly inputName: string,
    readonly outputName: string,
  ) {
    super();
    this.roles = stateRoles(nodes, initializers);
    let dropouts = 0;
    for (const node of nodes) {
      const step: Step = { node };
      if (node.opType === 'Dropout') {
        step.module = new Dropout(this.dropoutRatio(node));
        this.children.set(`dropout${dropouts === 0 ? '' : `_${dropouts}`}`, step.module);
        dropouts++;
      } else step.module = this.layerModule(node);
      this.steps.push(step);
      for (const n of node.input ?? []) this.addLooseState(n);
    }
  }

  /**
   * The float initializers this import keeps as constants: names the exporter made up (not
   * state_dict keys) that no Conv, Gemm or MatMul reads as a weight, which PyTorch computed
   * rather than trained. Said, because an `nn.Parameter` the exporter renamed would land here.
   */
  override notes(): string[] {
    const constants = [...this.initializers].filter(
      ([name, v]) =>
        v.dtype === 'float32' && this.roles.uses.has(name) && !this.taken.has(name) && !this.looseState.has(name),
    );
    if (constants.length === 0) return [];
    const values = constants.reduce((n, [, v]) => n + v.data.length, 0).toLocaleString('en-US');
    const names = constants.map(([name]) => name);
    const listed = `${names.slice(0, 3).join(', ')}${names.length > 3 ? ', ...' : ''}`;
    return [
      `Constants (not trained): ${constants.length} tensor${constants.length === 1 ? '' : 's'}, ` +
        `${values} values (${listed}): exporter-made names, read by no Conv, Gemm or MatMul as weights`,
    ];
  }

  private layerModule(node: NodeP): Module | undefined {
    if (node.opType === 'Conv') return this.convModule(node);
    if (node.opType === 'Gemm') return this.linearModule(node);
    if (node.opType === 'BatchNormalization') return this.batchNormModule(node);
    return undefined;
  }

  private addLooseState(name: string): void {
    const values = this.initializers.get(name);
    if (!values || this.taken.has(name) || this.looseState.has(name)) return;
    const init = () => Float32Array.from(floatData(values));
    if (this.roles.trainable.has(name)) this.looseState.set(name, new Parameter(values.dims, init));
    else if (this.roles.buffers.has(name)) this.looseState.set(name, new StateBuffer(values.dims, init));
  }

  /** Whether the initializers `names` may become one module's own state: parameters each read by this node only. */
  private ownable(names: string[]): boolean {
    return names.every((n) => (this.roles.uses.get(n) ?? 0) <= 1);
  }

  private adopt(prefix: string, module: Module, names: string[]): Module {
    this.children.set(prefix, module);
    for (const n of names) if (n) this.taken.add(n);
    return module;
  }

  private convModule(node: NodeP): Module | undefined {
    const [, w, b] = node.input ?? [];
    const weight = this.initializers.get(w);
    if (!weight || !this.roles.trainable.has(w) || weight.dims.length !== 4 || !this.ownable([w])) return undefined;
    const prefix = modulePrefix(b ? [w, b] : [w], ['weight', 'bias']);
    const a = parseAttributes(node, CONV);
    const pads = a.pads ?? [0, 0, 0, 0];
    const [kh, kw] = a.kernel_shape ?? weight.dims.slice(2);
    if (
      !prefix ||
      pads[0] !== pads[2] ||
      pads[1] !== pads[3] ||
      kh !== weight.dims[2] ||
      kw !== weight.dims[3] ||
      this.children.has(prefix)
    )
      return undefined;
    const conv = new Conv2d(weight.dims[1] * a.group, weight.dims[0], [kh, kw], {
      stride: (a.strides ?? [1, 1]) as [number, number],
      padding: [pads[0], pads[1]],
      dilation: (a.dilations ?? [1, 1]) as [number, number],
      groups: a.group,
      bias: b !== undefined && b !== '',
    });
    return this.adopt(prefix, conv, [w, b]);
  }

  /** PyTorch's Linear exports Gemm(x, W, b, transB=1). */
  private linearModule(node: NodeP): Module | undefined {
    const [, w, b] = node.input ?? [];
    const weight = this.initializers.get(w);
    const a = parseAttributes(node, GEMM);
    const plain = a.transA === 0 && a.transB === 1 && a.alpha === 1 && a.beta === 1;
    if (
      !plain ||
      !weight ||
      !this.roles.trainable.has(w) ||
      weight.dims.length !== 2 ||
      !this.ownable(b ? [w, b] : [w])
    )
      return undefined;
    const bias = b ? this.initializers.get(b) : undefined;
    const prefix = modulePrefix(b ? [w, b] : [w], ['weight', 'bias']);
    if (!prefix || (b && (!bias || bias.dims.join() !== String(weight.dims[0]))) || this.children.has(prefix))
      return undefined;
    return this.adopt(prefix, new Linear(weight.dims[1], weight.dims[0], { bias: b !== undefined && b !== '' }), [
      w,
      b,
    ]);
  }

  private batchNormModule(node: NodeP): Module | undefined {
    const [, scale, bias, mean, variance] = node.input ?? [];
    const prefix = modulePrefix([scale, bias, mean, variance], ['weight', 'bias', 'running_mean', 'running_var']);
    const c = this.initializers.get(scale)?.dims;
    if (
      !prefix ||
      !c ||
      c.length !== 1 ||
      !this.roles.buffers.has(mean) ||
      this.children.has(prefix) ||
      !this.ownable([scale, bias, mean, variance])
    )
      return undefined;
    const a = parseAttributes(node, BATCH_NORM);
    // ONNX's momentum keeps that much of the running value; PyTorch's takes that much of the batch's.
    return this.adopt(prefix, new BatchNorm2d(c[0], { eps: a.epsilon, momentum: 1 - a.momentum }), [
      scale,
      bias,
      mean,
      variance,
    ]);
  }

  private dropoutRatio(node: NodeP): number {
    const ratio = node.input?.[1];
    if (!ratio) return 0.5;
    const init = this.initializers.get(ratio);
    const fromConstant = this.nodes.find((n) => n.opType === 'Constant' && n.output?.[0] === ratio);
    const value = init ? known(init) : fromConstant ? constantValue(fromConstant) : undefined;
    if (!value) throw new ImportError(`Dropout node '${node.name}': its ratio is not a constant`);
    return Number(value.values[0]);
  }

  override get kind(): string {
    return 'OnnxGraph';
  }

  override describe(): string {
    return `ONNX graph of ${this.nodes.length} nodes`;
  }

  override namedChildren(): [string, Module][] {
    return [...this.children];
  }

  override namedState(): [string, StateEntry][] {
    const entries = [...this.looseState];
    return [...entries.filter(([, e]) => e.trainable), ...entries.filter(([, e]) => !e.trainable)];
  }

  forward(x: Tensor, ctx: Context): Tensor {
    const values = new Map<string, Value>([[this.inputName, x]]);
    for (const [name, v] of this.initializers) {
      const entry = this.looseState.get(name);
      if (entry) values.set(name, ctx.value(entry));
      else if (!this.taken.has(name)) values.set(name, known(v));
    }
    for (const { node, module } of this.steps) {
      let outs: Value[];
      try {
        outs = emitNode(node, module, values, ctx);
      } catch (e) {
        // Shapes that do not fit, said of the node (a layer module's own check names the layer instead).
        if (e instanceof ShapeError) throw new ImportError(`${node.opType} node '${node.name}': ${e.message}`);
        throw e;
      }
      for (const [i, name] of (node.output ?? []).entries())
        if (name && outs[i] !== undefined) values.set(name, outs[i]);
    }
    const out = values.get(this.outputName);
    if (!out || isKnown(out))
      throw new ImportError(`the graph output '${this.outputName}' does not depend on the input`);
    return out;
  }
}

/** Emits (or folds) one node by its converter; returns its outputs by position. */
function emitNode(node: NodeP, module: Module | undefined, values: Map<string, Value>, ctx: Context): Value[] {
  const where = `${node.opType} node '${node.name}'`;
  // A layer module holds its weights itself: it reads only the data input.
  const names = module ? (node.input ?? []).slice(0, 1) : (node.input ?? []);
  const inputs = names.map((n) => (n ? values.get(n) : undefined));
  names.forEach((n, i) => {
    if (n && inputs[i] === undefined) throw new ImportError(`${where}: its input '${n}' is not computed before it`);
  });
  const like = inputs.find((v): v is Tensor => v !== undefined && !isKnown(v));
  const converter = CONVERTERS[node.opType ?? ''];
  if (!like) {
    // Nodes of constants only are shape computations: fold them here.
    if (!converter?.fold) throw new ImportError(`${where} on constants only cannot be folded here`);
    return [converter.fold(node, inputs as Known[], where)];
  }
  const given = (i: number): Value => {
    const v = inputs[i];
    if (v === undefined) throw new ImportError(`${where}: input ${i} is missing`);
    return v;
  };
  const args: NodeInputs = {
    where,
    count: inputs.length,
    mode: ctx.mode,
    has: (i) => inputs[i] !== undefined,
    t: (i) => tensorOf(given(i), like, where),
    k: (i) => {
      const v = given(i);
      if (!isKnown(v)) throw new ImportError(`${where}: input ${i} must be a constant`);
      return v;
    },
  };
  if (module) return [module.call(args.t(0), ctx)];
  if (!converter?.emit) throw new ImportError(`${where} is not supported here`);
  return converter.emit(node, args);
}
