/**
 * The draw page's "Teach it your handwriting": the exported model's weights fine-tuned on the
 * user's digits mixed with MNIST (src/train/core's fineTune), exported and checked on the
 * MNIST test set, with what that cost the model's MNIST accuracy.
 */
import type { Split } from '../../src/data/dataset.js';
import { MNIST_NORMALIZATION } from '../../src/data/normalize.js';
import { inferenceModelBytes } from '../../src/export/inference.js';
import { foldedStateFromModel } from '../../src/export/model-weights.js';
import { exportVerified, type Verification } from '../../src/export/verify-core.js';
import type { Network } from '../../src/model/network.js';
import type { StateDict } from '../../src/model/state-dict.js';
import { seedCnn } from '../../src/model/seed-cnn.js';
import { type ClassifierResult, classifierResult, Evaluator } from '../../src/train/core/evaluator.js';
import { FINE_TUNE, fineTune, ownExamples } from '../../src/train/core/fine-tune.js';
import { forgettingNote } from '../../src/train/core/forgetting.js';
import type { Runtime } from '../../src/train/core/runtime.js';
import { encodeModelState } from '../../src/train/core/state-file.js';
import type { ToWorker } from '../shared/protocol.js';
import { fetchSplit } from './mnist.js';
import { post } from './post.js';
import { loadRuntime } from './runtime.js';
import { downloadCheck } from './train-run.js';
import { withBatchNormFolded } from '../../src/export/fold.js';

/**
 * Exports `model` of `net` and checks it on `test` against the evaluation graph, as `npm run
 * export` does (src/export's exportVerified); a failed check throws, its message ending in
 * `consequence`.
 */
async function exportChecked(
  runtime: Runtime,
  net: Network,
  model: StateDict,
  test: Split,
  metadata: Record<string, string>,
  consequence: string,
): Promise<{ onnx: Uint8Array; verification: Verification }> {
  const { graph, verification } = await exportVerified(runtime, net, model, test, MNIST_NORMALIZATION, consequence);
  return { onnx: inferenceModelBytes(graph, metadata), verification };
}

/**
 * The shipped model's evaluation on the test split, kept for
 * the model it was made of (teaching starts from it each time).
 */
let shippedScore: { bytes: Uint8Array; score: ClassifierResult } | undefined;
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

async function scoreOfShipped(
  bytes: Uint8Array,
  net: Network,
  model: StateDict,
  runtime: Runtime,
  test: Split,
): Promise<ClassifierResult> {
  if (shippedScore && sameBytes(shippedScore.bytes, bytes)) return shippedScore.score;
  const evaluator = await Evaluator.create(net, runtime, MNIST_NORMALIZATION);
  try {
    const score = classifierResult(await evaluator.evaluate(model, test));
    shippedScore = { bytes: bytes.slice(), score };
    return score;
  } finally {
    await evaluator.release();
  }
}

/**
 * "Teach it your handwriting": the exported model's weights (BatchNorm already folded, so its
 * statistics stay frozen) fine-tuned on the user's examples mixed with MNIST until each reads
 * as taught (src/train/core's fineTune), then exported and checked on the 10k test images,
 * whose accuracy the page shows, with a sentence naming what MNIST lost when that fell by more
 * than 0.3 points (src/train/core/forgetting.ts).
 */
export async function tune({
  model: modelBytes,
  inputs,
  labels,
  dataUrl,
  backend,
}: Extract<ToWorker, { type: 'tune' }>): Promise<void> {
  const started = performance.now();
  const net = withBatchNormFolded(seedCnn());
  const model = foldedStateFromModel(modelBytes, net);
  const own = ownExamples(
    Array.from(labels, (_, i) => inputs.subarray(i * 784, (i + 1) * 784)),
    Array.from(labels),
  );
  post({ type: 'phase', text: 'loading MNIST to mix in (so the model does not forget)…' });
  const [{ runtime }, base, test] = await Promise.all([
    loadRuntime(backend),
    fetchSplit(dataUrl, 'train'),
    fetchSplit(dataUrl, 'test'),
  ]);
  const tuned = await fineTune({
    net,
    model,
    own,
    base,
    runtime,
    onStep: (step, loss) => post({ type: 'tune-step', step, steps: FINE_TUNE.maxSteps, loss }),
  });
  post({ type: 'evaluating', images: test.count });
  const before = await scoreOfShipped(modelBytes, net, model, runtime, test);
  const metadata = {
    producer: 'index.html (onnxruntime-web)',
    source: `fine-tuned in the browser on ${own.count} drawn digits`,
    steps: String(tuned.steps),
  };
  const { onnx, verification } = await exportChecked(
    runtime,
    net,
    tuned.model,
    test,
    metadata,
    'the page keeps the model it had',
  );
  const checkpoint = encodeModelState(tuned.model, net, tuned.steps);
  post({
    type: 'tuned',
    onnx,
    checkpoint,
    verification: downloadCheck(verification),
    seconds: (performance.now() - started) / 1000,
    steps: tuned.steps,
    learned: tuned.learned,
    shippedAccuracy: before.correct / before.count,
    forgetting: forgettingNote(before, verification),
  });
}
