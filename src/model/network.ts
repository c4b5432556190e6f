/**
 * A network: a module tree (module.ts) with the shape of one input image. Walked once, it
 * names every module by its path (`conv1`, `features.0`) and every parameter and buffer by
 * PyTorch's state_dict rules (`features.0.weight`), in PyTorch's order, and emits the tree
 * into a graph with a Context that binds those names to the graph's tensors.
 */
import type { Tensor } from '../graph/builder.js';
import * as op from '../graph/ops/index.js';
import { numel, ShapeError } from '../graph/shape.js';
import { ExpectedError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { BatchNorm2d } from './layers/batch-norm.js';
import { Dropout } from './layers/dropout.js';
import { GRAPH_NAMES } from './graph-names.js';
import { copyState, type StateDict } from './state-dict.js';
import type { LossKind } from './loss.js';
import { type Context, type Init, LayerInputError, type Mode, type Module, type StateEntry } from './module.js';

export interface StateSpec {
  /** PyTorch state_dict key, e.g. `bn1.running_var`. */
  name: string;
  shape: readonly number[];
  /** Parameters get gradients; buffers (running statistics) do not. */
  trainable: boolean;
  init: Init;
}

/** A model that cannot be emitted as written; the message names the layer. */
export class NetworkError extends ExpectedError {}

/** Where a forward reads and writes state in the graph being built, by state_dict name. */
export interface StateBinding {
  state(name: string): Tensor;
  /** Training: the new value of a buffer. */
  updateBuffer?(name: string, value: Tensor): void;
  /** Training: the dropout keep-mask input for one call of a Dropout (`<layer>.mask`). */
  dropoutMask?(name: string, shape: readonly number[], p: number): Tensor;
}

/** One module call of a forward, as `onCall` sees it. */
export interface CallRecord {
  path: string;
  module: Module;
  input: Tensor;
  output: Tensor;
}

/** A module and its path in the tree ('' for the root). */
export interface NamedModule {
  path: string;
  module: Module;
}

export interface NetworkOptions {
  /** Overrides every Dropout's p (the `--dropout` flag). */
  dropout?: number;
  /**
   * The loss, which says how the output is read (the `--loss` flag; absent:
   * NLL after a final LogSoftmax, else cross-entropy; see loss.ts).
   */
  loss?: LossKind;
  /** Modules replaced by others where they are called (BatchNorm folding). */
  substitutes?: ReadonlyMap<Module, Module>;
  /** The state a new run starts from, instead of drawing it (an imported model's weights). */
  initial?: StateDict;
}

const child = (prefix: string, name: string) => (prefix ? `${prefix}.${name}` : name);

const isControl = (c: string) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f;

/**
 * Why `name` cannot name a state entry (safetensors reserves
 * `__metadata__`; a checkpoint keeps one tensor per name), or undefined.
 */
function stateNameProblem(name: string, earlier: readonly StateSpec[]): string | undefined {
  if (name === '__metadata__')
    return "a parameter or buffer named '__metadata__', which safetensors files reserve: rename it";
  if ([...name].some(isControl))
    return `a parameter or buffer named ${JSON.stringify(name)}, with a control character: rename it`;
  if (GRAPH_NAMES.includes(name))
    return (
      `a parameter or buffer named '${name}', ` +
      `a name the training graph gives one of its own inputs or outputs (${GRAPH_NAMES.join(', ')}): rename it`
    );
  if (earlier.some((s) => s.name === name))
    return `two parameters or buffers named '${name}' (a property name with a dot?): rename one`;
  return undefined;
}
const describeAt = (path: string, m: Module) =>
  path ? `layer '${path}' (${m.describe()})` : `the model (${m.describe()})`;

export class Network {
  /** Every module of the tree, root first, depth first, as substituted. */
  readonly modules: readonly NamedModule[];
  readonly stateSpecs: readonly StateSpec[];
  /** Other names of shared state, as PyTorch's state_dict lists them: alias -> the entry's own name. */
  readonly aliases: ReadonlyMap<string, string>;
  private readonly pathOf = new Map<Module, string>();
  private readonly nameOf = new Map<StateEntry, string>();

  constructor(
    readonly name: string,
    readonly root: Module,
    /** Shape of one input image, [C, H, W]. */
    readonly inputShape: readonly number[],
    readonly options: NetworkOptions = {},
  ) {
    const modules: NamedModule[] = [];
    const specs: StateSpec[] = [];
    const aliases = new Map<string, string>();
    // A module met again (used twice) is named where first met, as its state is; PyTorch's
    // state_dict lists it under every path too, which `aliases` records.
    const alias = (module: Module, path: string) => {
      for (const [local, entry] of module.namedState()) {
        const first = this.nameOf.get(entry);
        if (first === undefined)
          throw new Error(`${describeAt(path, module)}: met again, but its state was never named`);
        aliases.set(child(path, local), first);
      }
      for (const [name, m] of module.namedChildren()) alias(this.resolve(m), child(path, name));
    };
    const walk = (original: Module, path: string) => {
      const module = this.resolve(original);
      if (this.pathOf.has(module)) return alias(module, path);
      this.pathOf.set(original, path).set(module, path);
      modules.push({ path, module });
      for (const [local, entry] of module.namedState()) {
        const name = child(path, local);
        const named = this.nameOf.get(entry);
        if (named !== undefined) {
          aliases.set(name, named); // one Parameter set on two modules
          continue;
        }
        const problem = stateNameProblem(name, specs);
        if (problem) throw new NetworkError(`${describeAt(path, module)}: ${problem}`);
        this.nameOf.set(entry, name);
        specs.push({ name, shape: entry.shape, trainable: entry.trainable, init: entry.init });
      }
      for (const [name, m] of module.namedChildren()) walk(m, child(path, name));
    };
    walk(root, '');
    this.modules = modules;
    this.stateSpecs = specs;
    this.aliases = aliases;
  }

  private resolve(m: Module): Module {
    return this.options.substitutes?.get(m) ?? m;
  }

  get parameterSpecs(): StateSpec[] {
    return this.stateSpecs.filter((s) => s.trainable);
  }

  /** What the modules say beyond their layers (an import's constants, say), each once: summary and training print it. */
  notes(): string[] {
    return [...new Set(this.modules.flatMap(({ module }) => module.notes()))];
  }

  get parameterCount(): number {
    return this.parameterSpecs.reduce((n, s) => n + numel(s.shape), 0);
  }

  /** The paths of the network's BatchNorm2d layers (each gets PyTorch's `num_batches_tracked`). */
  get batchNormPaths(): string[] {
    return this.modules.filter((m) => m.module instanceof BatchNorm2d).map((m) => m.path);
  }

  /** The same module tree and input, with `change` to its options (and, given, another name). */
  private derived(change: NetworkOptions, name = this.name): Network {
    return new Network(name, this.root, this.inputShape, { ...this.options, ...change });
  }

  /** The same network with every Dropout's p replaced (`--dropout`). */
  withDropout(p: number | undefined): Network {
    return p === undefined ? this : this.derived({ dropout: p });
  }

  /** The same network with its output read as `loss` says (absent: as its last layer implies). */
  withLoss(loss: LossKind | undefined): Network {
    return loss === undefined ? this : this.derived({ loss });
  }

  /**
   * The same network, starting new runs from `state` instead of drawing one (an imported model's
   * weights); each entry must hold as many values as its shape (a Conv bias of 5 for 6 channels
   * was a stack trace when the step's state was made).
   */
  withInitialState(state: StateDict): Network {
    for (const spec of this.stateSpecs) {
      const held = state.get(spec.name)?.data.length;
      if (held !== undefined && held !== numel(spec.shape))
        throw new NetworkError(
          `'${spec.name}' holds ${held} values where its layer wants [${spec.shape}]: not a valid model`,
        );
    }
    return this.derived({ initial: state });
  }

  /** The dropout probability each Dropout layer trains with, by path. */
  get dropoutRates(): Map<string, number> {
    const rates = new Map<string, number>();
    for (const { path, module } of this.modules)
      if (module instanceof Dropout) rates.set(path, this.options.dropout ?? module.p);
    return rates;
  }

  /**
   * Emits the tree on x. `binding` gives the tensors of the state by name; `onCall` sees every
   * module call (the root's last) with its input and output, for summaries and tracing.
   */
  forward(x: Tensor, mode: Mode, binding: StateBinding, onCall?: (call: CallRecord) => void): Tensor {
    return new NetworkContext(this, mode, binding, onCall).call(this.root, x);
  }

  /** @internal */ pathFor(m: Module): string | undefined {
    return this.pathOf.get(m);
  }

  /** @internal */ nameFor(entry: StateEntry): string | undefined {
    return this.nameOf.get(entry);
  }

  /** @internal */ substitute(m: Module): Module {
    return this.resolve(m);
  }

  /** Fresh state with PyTorch's default initialisation, drawn from `seed` (or the `initial` state given, copied). */
  initialState(seed: number): StateDict {
    const { initial } = this.options;
    if (initial) return copyState(initial);
    const state: StateDict = new Map();
    for (const [i, spec] of this.stateSpecs.entries())
      state.set(spec.name, { shape: spec.shape, data: spec.init(new Rng(seed, i)) });
    return state;
  }
}

/** The Context a forward runs in: module and entry names from the network, tensors from the binding. */
class NetworkContext implements Context {
  private readonly stack: string[] = [];
  private readonly maskCalls = new Map<string, number>();

  constructor(
    private readonly net: Network,
    readonly mode: Mode,
    private readonly binding: StateBinding,
    private readonly onCall?: (call: CallRecord) => void,
  ) {}

  private entryName(entry: StateEntry): string {
    const name = this.net.nameFor(entry);
    if (name === undefined) {
      throw new NetworkError(
        `${this.here()} uses a parameter or buffer that is not a property of a module in the model: ` +
          `set it in the constructor`,
      );
    }
    return name;
  }

  private here(): string {
    const path = this.stack.at(-1) ?? '';
    return path ? `layer '${path}'` : 'the model';
  }

  value(entry: StateEntry): Tensor {
    return this.binding.state(this.entryName(entry));
  }

  updateBuffer(entry: StateEntry, value: Tensor): void {
    this.binding.updateBuffer?.(this.entryName(entry), value);
  }

  dropout(module: Module, x: Tensor, p: number): Tensor {
    const rate = this.net.options.dropout ?? p;
    if (this.mode !== 'train' || rate === 0) return x;
    const path = this.net.pathFor(module) ?? this.stack.at(-1) ?? 'dropout';
    const calls = (this.maskCalls.get(path) ?? 0) + 1;
    this.maskCalls.set(path, calls);
    if (!this.binding.dropoutMask) throw new NetworkError(`${this.here()}: this graph takes no dropout masks`);
    const shape = x.shape;
    if (!shape.every((d): d is number => typeof d === 'number'))
      throw new NetworkError(`${this.here()}: dropout needs a fixed batch size`);
    return op.mul(x, this.binding.dropoutMask(calls === 1 ? `${path}.mask` : `${path}.mask_${calls}`, shape, rate));
  }

  call(original: Module, x: Tensor): Tensor {
    const module = this.net.substitute(original);
    let path = this.net.pathFor(original);
    if (path === undefined) {
      // A stateless module made inside a forward (`new ReLU().call(x, ctx)`)
      // is fine; one with state would go untrained.
      if (module.namedState().length > 0 || module.namedChildren().length > 0) {
        throw new NetworkError(
          `${this.here()} calls a ${module.describe()} that is not a property of a module in the model: ` +
            `set it in the constructor`,
        );
      }
      path = child(this.stack.at(-1) ?? '', module.kind);
    }
    this.stack.push(path);
    let y: Tensor;
    try {
      y = module.forward(x, this);
    } catch (e) {
      if (e instanceof LayerInputError) throw new NetworkError(`${describeAt(path, module)} ${e.message}`);
      if (e instanceof ShapeError) throw new NetworkError(`${describeAt(path, module)}: ${e.message}`);
      throw e;
    } finally {
      this.stack.pop();
    }
    this.onCall?.({ path, module, input: x, output: y });
    return y;
  }
}
