/**
 * `npm run predict -- <images...> [--model models/mnist.onnx] [--json]`: classifies pictures
 * of digits (PNG, JPEG, WebP, GIF, TIFF; any size, colour or alpha) with the exported model,
 * after the same MNIST-style preprocessing the browser demo uses. A file that cannot be read
 * or holds no digit gets a one-line error; the others still get their answers; the exit code
 * is 1 if any failed.
 */
import { Command } from 'commander';
import sharp, { type OutputInfo } from 'sharp';
import { Classifier, type Prediction } from '../export/classifier.js';
import { mnistInput } from '../preprocess/mnist-style.js';
import { runCommand } from './errors.js';

type Outcome = { file: string; prediction: Prediction } | { file: string; error: string };

async function readInput(file: string): Promise<Float32Array> {
  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await sharp(file).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    const message = (e as Error).message;
    if (/missing|no such file/i.test(message)) throw new Error('file not found');
    if (/unsupported image format/i.test(message)) throw new Error('not an image (unsupported or unrecognised format)');
    throw new Error(`cannot decode the image (${message})`);
  }
  return mnistInput({ width: raw.info.width, height: raw.info.height, data: raw.data });
}

const pct = (p: number) => `${(100 * p).toFixed(2)}%`;

const program = new Command('predict')
  .description('Classify pictures of handwritten digits with the exported ONNX model')
  .argument('<images...>', 'image files')
  .option('--model <file>', 'exported model', 'models/mnist.onnx')
  .option('--json', 'print JSON instead of text', false);

runCommand(async () => {
  program.parse();
  const files = program.args;
  const o = program.opts<{ model: string; json: boolean }>();
  const classifier = await Classifier.load(o.model);
  // One slot per file, in argument order; the readable ones are classified in one batch.
  const outcomes: Outcome[] = [];
  const ready: { slot: number; input: Float32Array }[] = [];
  for (const [slot, file] of files.entries()) {
    try {
      ready.push({ slot, input: await readInput(file) });
    } catch (e) {
      outcomes[slot] = { file, error: (e as Error).message };
    }
  }
  const predictions = await classifier.classify(ready.map((r) => r.input));
  ready.forEach((r, i) => (outcomes[r.slot] = { file: files[r.slot], prediction: predictions[i] }));
  await classifier.release();

  if (o.json) console.log(JSON.stringify(outcomes, null, 2));
  for (const outcome of outcomes) {
    if ('error' in outcome) console.error(`error: ${outcome.file}: ${outcome.error}`);
    else if (!o.json) {
      const { digit, probability, runnerUp } = outcome.prediction;
      console.log(`${outcome.file}: ${digit} (${pct(probability)}), runner-up ${runnerUp.digit} (${pct(runnerUp.probability)})`);
    }
  }
  if (outcomes.some((x) => 'error' in x)) process.exitCode = 1;
});
