/**
 * `npm run predict -- <images or folders...> [--model models/mnist.onnx] [--json]`: classifies
 * pictures of digits (PNG, JPEG, WebP, GIF, TIFF, recognised by their bytes; any size up to
 * 50 megapixels, colour or alpha; EXIF orientation applied) with the exported model, after the
 * same MNIST-style preprocessing the browser demo uses. A folder stands for the image files in
 * it (by extension, in name order); `-` reads paths from stdin, one per line, for lists too
 * long for a command line. A file that cannot be read, is not one of those formats, holds no
 * digit or gets an answer from the model that is not a probability distribution gets a
 * one-line error; the others still get their answers; the exit code is 1 if any failed.
 */
import { Command } from 'commander';
import { Classifier, answerProblem, type Prediction } from '../export/classifier.node.js';
import { BlankImageError, mnistInput } from '../preprocess/mnist-style.js';
import { runCommand, UsageError } from './errors.js';
import { expandImageArguments, ImageError, readImage } from './image-file.js';
import { nonEmptyPath, parseCommand } from './parse.js';

type Outcome = { file: string; prediction: Prediction } | { file: string; error: string };

/** The model input for one file; an unusable file throws an ImageError or a BlankImageError. */
async function readInput(file: string): Promise<Float32Array> {
  return mnistInput(await readImage(file));
}

const pct = (p: number) => `${(100 * p).toFixed(2)}%`;

/**
 * A file name as it may go to a terminal: control characters (an escape sequence can clear the
 * screen or fake an answer; a newline, a line) written as JSON writes them, `\u001b`.
 */
const printable = (name: string): string => name.replace(/\p{Cc}/gu, (c) => JSON.stringify(c).slice(1, -1));

const program = new Command('predict')
  .description('Classify pictures of handwritten digits with the exported ONNX model')
  .argument('<images...>', "image files, folders of them, or '-' to read paths from stdin (one per line)")
  .option('--model <file>', 'exported model', nonEmptyPath, 'models/mnist.onnx')
  .option('--json', 'print JSON instead of text', false);

runCommand(async () => {
  parseCommand(program);
  const o = program.opts<{ model: string; json: boolean }>();
  const files = await expandImageArguments(program.args, process.stdin);
  if (files.length === 0) throw new UsageError('-: no image paths were read from stdin');
  const classifier = await Classifier.load(o.model);
  // One slot per file, in argument order; the readable ones are classified together (in chunks if the model fixes its batch size).
  const outcomes: Outcome[] = [];
  const ready: { slot: number; input: Float32Array }[] = [];
  for (const [slot, { file, problem }] of files.entries()) {
    if (problem) {
      outcomes[slot] = { file, error: problem };
      continue;
    }
    try {
      ready.push({ slot, input: await readInput(file) });
    } catch (e) {
      if (e instanceof ImageError) outcomes[slot] = { file, error: e.problem };
      else if (e instanceof BlankImageError) outcomes[slot] = { file, error: e.message };
      else throw e;
    }
  }
  const predictions = await classifier.classify(ready.map((r) => r.input));
  ready.forEach((r, i) => {
    const { file } = files[r.slot];
    // A broken model can give NaN, or numbers that are not probabilities; never print them as an answer.
    const problem = answerProblem(predictions[i].probabilities);
    outcomes[r.slot] = problem ? { file, error: `${problem}; ${o.model} is broken` } : { file, prediction: predictions[i] };
  });
  await classifier.release();

  if (o.json) console.log(JSON.stringify(outcomes, null, 2));
  for (const outcome of outcomes) {
    const file = printable(outcome.file);
    if ('error' in outcome) console.error(`error: ${file}: ${outcome.error}`);
    else if (!o.json) {
      const { digit, probability, runnerUp } = outcome.prediction;
      console.log(`${file}: ${digit} (${pct(probability)}), runner-up ${runnerUp.digit} (${pct(runnerUp.probability)})`);
    }
  }
  if (outcomes.some((x) => 'error' in x)) process.exitCode = 1;
});
