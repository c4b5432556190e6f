/**
 * A WebGPU session that earns trust: its first runs are repeated on the WebAssembly provider
 * with the same feeds and compared (src/train/core/agreement.ts). While they agree the WebGPU
 * results are used; the first time they do not (or WebGPU fails), the session falls back to
 * WebAssembly for good and hands back the WebAssembly results, so nothing wrong is ever used.
 * onnxruntime-web 1.30's WebGPU kernels are wrong for some shapes (docs/upstream-reports.md):
 * a network never seen before (an imported .onnx) may hit one, and this is how the library and
 * the pages find out instead of training on wrong numbers.
 */
import { type Agreement, agrees, compareOutputs, describeAgreement, emptyAgreement } from '../train/core/agreement.js';
import type { InferenceSession } from '../train/core/runtime.js';
import type { Backend } from './backend.js';
import { messageOf } from '../util/errors.js';

type Feeds = InferenceSession.FeedsType;
type RunOptions = InferenceSession.RunOptions;
type Results = InferenceSession.ReturnType;

/** One checked run. */
export interface CheckReport {
  /** 0-based number of the run checked. */
  run: number;
  agreement: Agreement;
  /** WebGPU failed to run it (its message); `agreement` is then empty. */
  failed?: string;
  /** Whether the WebGPU results were used (else the session now runs on WebAssembly). */
  trusted: boolean;
  webgpu: Results | null;
  /** The WebAssembly results (null when WebGPU could not even open the model). */
  wasm: Results | null;
}

/** Numeric outputs as typed arrays, for comparing. */
export function outputData(results: Results): Record<string, Float32Array | BigInt64Array> {
  const out: Record<string, Float32Array | BigInt64Array> = {};
  for (const [name, t] of Object.entries(results))
    if (t.data instanceof Float32Array || t.data instanceof BigInt64Array) out[name] = t.data;
  return out;
}

/** What the pages say when a check drops WebGPU: `what` names the run ('training step', 'evaluation', 'inference'). */
export const fallbackNote = (what: string, r: CheckReport): string =>
  `WebGPU ${what} disagreed with WebAssembly (${r.failed ?? describeAgreement(r.agreement)}): running on WebAssembly`;

const failure = (e: unknown) => `WebGPU failed: ${messageOf(e)}`;

export class CheckedSession implements InferenceSession {
  private runs = 0;
  private active: InferenceSession;

  /**
   * A model on WebGPU, checked: `open` makes its session on a provider. When WebGPU cannot open
   * the model at all, that is reported as a failed check and the WebAssembly session is returned.
   */
  static async open(
    open: (provider: Backend) => Promise<InferenceSession>,
    checks: number,
    onCheck: (report: CheckReport) => void,
  ): Promise<InferenceSession> {
    const wasm = await open('wasm');
    try {
      return new CheckedSession(await open('webgpu'), wasm, checks, onCheck);
    } catch (e) {
      onCheck({ run: 0, agreement: emptyAgreement(), failed: failure(e), trusted: false, webgpu: null, wasm: null });
      return wasm;
    }
  }

  /**
   * `webgpu` and `wasm`: sessions of one model on the two providers; the first `checks` runs are
   * checked (at least one), each reported to `onCheck`. `wasm` is released once the checks pass.
   */
  private constructor(
    private readonly webgpu: InferenceSession,
    private wasm: InferenceSession | null,
    private readonly checks: number,
    private readonly onCheck: (report: CheckReport) => void,
  ) {
    this.active = webgpu;
  }

  /** Whether the session runs on WebGPU (false once it fell back). */
  get onWebgpu(): boolean {
    return this.active === this.webgpu;
  }
  get inputNames(): readonly string[] {
    return this.active.inputNames;
  }
  get outputNames(): readonly string[] {
    return this.active.outputNames;
  }
  get inputMetadata(): readonly InferenceSession.ValueMetadata[] {
    return this.active.inputMetadata;
  }
  get outputMetadata(): readonly InferenceSession.ValueMetadata[] {
    return this.active.outputMetadata;
  }

  run(feeds: Feeds, options?: RunOptions): Promise<Results>;
  run(feeds: Feeds, fetches: readonly string[], options?: RunOptions): Promise<Results>;
  async run(feeds: Feeds, fetchesOrOptions?: readonly string[] | RunOptions, options?: RunOptions): Promise<Results> {
    const on = (s: InferenceSession) =>
      Array.isArray(fetchesOrOptions)
        ? s.run(feeds, fetchesOrOptions as readonly string[], options)
        : s.run(feeds, fetchesOrOptions as RunOptions | undefined);
    const wasm = this.wasm;
    if (!wasm || this.active !== this.webgpu) return on(this.active);
    let webgpu: Results | null = null;
    let failed: string | undefined;
    try {
      webgpu = await on(this.webgpu);
    } catch (e) {
      failed = failure(e);
    }
    const reference = await on(wasm);
    const agreement = webgpu ? compareOutputs(outputData(reference), outputData(webgpu)) : emptyAgreement();
    const trusted = webgpu !== null && agrees(agreement);
    this.onCheck({ run: this.runs++, agreement, failed, trusted, webgpu, wasm: reference });
    if (!trusted) {
      this.active = wasm;
      await this.webgpu.release();
    } else if (this.runs >= this.checks) {
      this.wasm = null;
      await wasm.release();
    }
    return trusted && webgpu ? webgpu : reference;
  }

  async release(): Promise<void> {
    await this.active.release();
    if (this.wasm && this.wasm !== this.active) await this.wasm.release();
  }
  startProfiling(): void {
    this.active.startProfiling();
  }
  endProfiling(): void {
    this.active.endProfiling();
  }
}
