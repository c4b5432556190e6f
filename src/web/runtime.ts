/**
 * The browser's binding of the training core: onnxruntime-web as a `Runtime` (tensors and
 * sessions), the counterpart of src/train/node-runtime.ts for Node. On WebAssembly, or on
 * WebGPU with portable graphs (the ops its provider runs) whose first runs are checked against
 * WebAssembly (checked-session.ts). Batches are made in the caller's thread (a page runs
 * training in a Worker).
 */
import type { InferenceSession, Runtime, SessionRole, Tensor } from '../train/core/runtime.js';
import { type Backend, type Ort, openSession } from './backend.js';
import { type CheckReport, CheckedSession } from './checked-session.js';
type Feeds = InferenceSession.FeedsType;
type Fetches = InferenceSession.FetchesType;
type RunOptions = InferenceSession.RunOptions;
type Results = InferenceSession.ReturnType;
type FetchRecord = Exclude<Fetches, readonly string[]>;

/** The bytes of a tensor's data (only numeric tensors are ever preallocated). */
function bytesOf(t: Tensor, name: string): Uint8Array {
  const data = t.data;
  if (!ArrayBuffer.isView(data)) throw new Error(`output '${name}': a preallocated output must hold a typed array`);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * onnxruntime-web 1.30 (wasm) accepts preallocated CPU output tensors but never writes into
 * them: it copies their data into the WebAssembly heap, runs, and hands the same JS tensors
 * back unchanged. The core preallocates the next training state that way (as onnxruntime-node
 * fills it in place), so this session asks ORT for those outputs by name and copies each into
 * the caller's tensor: the core sees Node's behaviour, at the cost of one copy of the state
 * (about 70k floats) per step.
 */
class CopyOutSession implements InferenceSession {
  constructor(
    private readonly inner: InferenceSession,
    /** Sees the feeds of every run before it starts (a test hook: see WebRuntimeOptions). */
    private readonly onRun?: (feeds: Feeds) => void,
  ) {}

  get inputNames(): readonly string[] {
    return this.inner.inputNames;
  }
  get outputNames(): readonly string[] {
    return this.inner.outputNames;
  }
  get inputMetadata(): readonly InferenceSession.ValueMetadata[] {
    return this.inner.inputMetadata;
  }
  get outputMetadata(): readonly InferenceSession.ValueMetadata[] {
    return this.inner.outputMetadata;
  }

  /** A list of output names (Array.isArray does not narrow a readonly array type). */
  private static isNameList(x: Fetches | RunOptions | undefined): x is readonly string[] {
    return Array.isArray(x);
  }

  /** ORT's own rule: an object whose keys include an output name is fetches, anything else options. */
  private isFetchRecord(x: Fetches | RunOptions | undefined): x is FetchRecord {
    return typeof x === 'object' && !Array.isArray(x) && Object.keys(x).some((k) => this.outputNames.includes(k));
  }

  run(feeds: Feeds, options?: RunOptions): Promise<Results>;
  run(feeds: Feeds, fetches: Fetches, options?: RunOptions): Promise<Results>;
  async run(feeds: Feeds, fetchesOrOptions?: Fetches | RunOptions, options?: RunOptions): Promise<Results> {
    this.onRun?.(feeds);
    if (!this.isFetchRecord(fetchesOrOptions)) {
      if (CopyOutSession.isNameList(fetchesOrOptions)) return this.inner.run(feeds, fetchesOrOptions, options);
      return this.inner.run(feeds, fetchesOrOptions);
    }
    const targets = fetchesOrOptions;
    const results = await this.inner.run(feeds, Object.keys(targets), options);
    const out: Record<string, Tensor> = { ...results };
    for (const [name, target] of Object.entries(targets)) {
      if (!target) continue;
      const into = bytesOf(target, name);
      const from = bytesOf(results[name], name);
      if (from.byteLength !== into.byteLength)
        throw new Error(`output '${name}': ${from.byteLength} bytes into a tensor of ${into.byteLength}`);
      into.set(from);
      out[name] = target; // as onnxruntime-node returns them: the caller's own tensors
    }
    return out;
  }

  release(): Promise<void> {
    return this.inner.release();
  }
  startProfiling(): void {
    this.inner.startProfiling();
  }
  endProfiling(): void {
    this.inner.endProfiling();
  }
}

/**
 * What a run may use in a tab: WebAssembly's 32-bit heap stops at 4 GB, which ORT's sessions and
 * their copies of the state share, and a browser kills a tab that takes much more than that.
 */
const TAB_BUDGET = 2 * 1024 ** 3;

export interface WebRuntimeOptions {
  /** Bytes a run may use (default TAB_BUDGET). */
  memoryBudget?: number;
  /** The backend to run on (WebGPU needs `ort` to be onnxruntime-web's WebGPU build). */
  backend: Backend;
  /**
   * Sees the feeds (state, batch, masks, learning rate) of each training step before it runs:
   * lets a test replay a step on onnxruntime-node from exactly the state this runtime had.
   */
  onTrainStep?(feeds: Feeds): void;
  /**
   * On WebGPU: how many training steps to check against WebAssembly
   * (at least the first; evaluations check their first run).
   */
  checkSteps?: number;
  /** Each check of a WebGPU run against WebAssembly, by session role. */
  onCheck?(role: SessionRole, report: CheckReport): void;
}

/** onnxruntime-web (`ort`, from shared/backend.ts's loadOrt for `options.backend`) as the training core's runtime. */
export function webRuntime(ort: Ort, options: WebRuntimeOptions): Runtime {
  /** WebGPU until a session on it disagreed with WebAssembly (or failed); WebAssembly from then on. */
  let backend = options.backend;
  const create = (model: Uint8Array, provider: Backend) =>
    openSession(ort, model, provider, { graphOptimizationLevel: 'all', executionMode: 'sequential' });
  const onCheck = (role: SessionRole) => (report: CheckReport) => {
    if (!report.trusted) backend = 'wasm'; // later sessions go straight to WebAssembly
    options.onCheck?.(role, report);
  };
  return {
    // Chosen once: the graphs a loop builds must suit every session
    // it may fall back to, and portable graphs run on both.
    portable: options.backend === 'webgpu',
    memory: { budget: options.memoryBudget ?? TAB_BUDGET, where: "the page's budget" },
    float32: (data, dims) => new ort.Tensor('float32', data, dims),
    int64: (data, dims) => new ort.Tensor('int64', data, dims),
    async session(model, role) {
      const onRun = role === 'train-step' ? options.onTrainStep : undefined;
      if (backend === 'wasm') return new CopyOutSession(await create(model, 'wasm'), onRun);
      const checks = role === 'train-step' ? Math.max(1, options.checkSteps ?? 1) : 1;
      return new CopyOutSession(
        await CheckedSession.open((provider) => create(model, provider), checks, onCheck(role)),
        onRun,
      );
    },
  };
}
