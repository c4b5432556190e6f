/**
 * The pages' WebGPU guard (src/web/checked-session.ts), with stand-in sessions: WebGPU's
 * results are used only after they agree with WebAssembly's on the same feeds, and a session
 * whose WebGPU side disagrees or fails runs on WebAssembly from then on. (The real providers,
 * in Chromium: test/web/webgpu.e2e.test.ts.)
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { describe, expect, test } from 'vitest';
import type { Backend } from '../../src/web/backend.js';
import { type CheckReport, CheckedSession } from '../../src/web/checked-session.js';

type Results = InferenceSession.ReturnType;

/** A session whose run gives `y` = f(run number), and counts its runs and releases. */
function standIn(f: (run: number) => number[] | Error) {
  const stats = { runs: 0, released: 0 };
  const session = {
    inputNames: ['x'],
    outputNames: ['y'],
    async run(): Promise<Results> {
      const y = f(stats.runs++);
      if (y instanceof Error) throw y;
      return { y: { data: Float32Array.from(y), dims: [y.length], type: 'float32' } as unknown as Tensor };
    },
    async release() {
      stats.released++;
    },
  } as unknown as InferenceSession;
  return { session, stats };
}

async function checked(webgpu: ReturnType<typeof standIn> | Error, wasm: ReturnType<typeof standIn>, checks: number) {
  const reports: CheckReport[] = [];
  const session = await CheckedSession.open(
    async (p: Backend) => {
      if (p === 'wasm') return wasm.session;
      if (webgpu instanceof Error) throw webgpu;
      return webgpu.session;
    },
    checks,
    (r) => reports.push(r),
  );
  const y = async () => Array.from((await session.run({})).y.data as Float32Array);
  return { session, reports, y };
}

describe('CheckedSession: WebGPU trusted only once it agrees with WebAssembly', () => {
  test('agreeing runs: WebGPU results, the reference dropped after the checks', async () => {
    const webgpu = standIn(() => [1, 2.0000001]);
    const wasm = standIn(() => [1, 2]);
    const { reports, y, session } = await checked(webgpu, wasm, 2);
    for (let i = 0; i < 4; i++) expect(await y()).toEqual([1, Math.fround(2.0000001)]);
    expect(reports.map((r) => [r.run, r.trusted])).toEqual([
      [0, true],
      [1, true],
    ]);
    expect(wasm.stats).toEqual({ runs: 2, released: 1 });
    expect(webgpu.stats.runs).toBe(4);
    expect(session instanceof CheckedSession && session.onWebgpu).toBe(true);
  });

  test('a disagreeing run: the WebAssembly results, and WebAssembly from then on', async () => {
    const webgpu = standIn((run) => (run === 0 ? [1, 2] : [1, 2.5]));
    const wasm = standIn(() => [1, 2]);
    const { reports, y, session } = await checked(webgpu, wasm, 3);
    expect(await y()).toEqual([1, 2]);
    expect(await y()).toEqual([1, 2]); // WebGPU said 2.5
    expect(await y()).toEqual([1, 2]);
    expect(reports.map((r) => r.trusted)).toEqual([true, false]);
    expect(reports[1].agreement.name).toBe('y');
    expect(reports[1].agreement.worst).toBeCloseTo(0.25, 6);
    expect(webgpu.stats).toEqual({ runs: 2, released: 1 });
    expect(wasm.stats.runs).toBe(3);
    expect(session instanceof CheckedSession && session.onWebgpu).toBe(false);
    await session.release();
    expect(wasm.stats.released).toBe(1);
  });

  test('WebGPU failing to run, or to open the model, is a failed check, never an error', async () => {
    const failing = await checked(
      standIn(() => new Error('The input shape must not be empty')),
      standIn(() => [3]),
      1,
    );
    expect(await failing.y()).toEqual([3]);
    expect(failing.reports[0]).toMatchObject({
      trusted: false,
      failed: 'WebGPU failed: The input shape must not be empty',
    });

    const unopened = await checked(
      new Error('no kernel for BatchNormalization'),
      standIn(() => [4]),
      1,
    );
    expect(await unopened.y()).toEqual([4]);
    expect(unopened.reports).toHaveLength(1);
    expect(unopened.reports[0]).toMatchObject({
      trusted: false,
      failed: 'WebGPU failed: no kernel for BatchNormalization',
      webgpu: null,
      wasm: null,
    });
  });

  test('NaN from WebGPU is never trusted', async () => {
    const { y, reports } = await checked(
      standIn(() => [Number.NaN]),
      standIn(() => [1]),
      1,
    );
    expect(await y()).toEqual([1]);
    expect(reports[0].trusted).toBe(false);
  });
});
