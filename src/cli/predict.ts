/**
 * `npm run predict -- <images or folders...> [--model models/mnist.onnx] [--json]`: classifies
 * pictures (PNG, JPEG, WebP, GIF, TIFF, recognised by their bytes; any size up to 50
 * megapixels, colour or alpha; EXIF orientation applied) with an exported model, made into its
 * input as its card says: MNIST-style for the digit readers (the same preprocessing the browser
 * demo uses), else stretched to the model's input shape as `--data` decoded the training
 * images. Answers carry the card's class names. A folder stands for the image files in it (by
 * extension, in name order); `-` reads paths from stdin, one per line, for lists too long for
 * a command line. A file that cannot be read, is not one of those formats, holds no digit (for
 * a digit reader) or gets an answer from the model that is not a probability distribution gets
 * a one-line error; the others still get their answers; the exit code is 1 if any failed.
 */
import { Command } from 'commander';
import { decodeImage } from '../data/image-folder.node.js';
import {
  answerProblem,
  type ClassAnswer,
  Classifier,
  OnnxFileError,
  type Prediction,
} from '../export/classifier.node.js';
import { BlankImageError, mnistInput } from '../preprocess/mnist-style.js';
import { runCommand, UsageError } from './errors.js';
import { expandImageArguments, ImageError, readImage } from './image-file.js';
import { nonEmptyPath, parseCommand } from './parse.js';

type Outcome = { file: string; prediction: Prediction } | { file: string; error: string };

/** The model input for one file; an unusable file throws an ImageError or a BlankImageError. */
async function readInput(file: string, classifier: Classifier): Promise<Float32Array> {
  const image = await readImage(file); // checks the file, with its errors, whatever the model
  if (classifier.preprocess === 'digit') return mnistInput(image);
  const pixels = await decodeImage(file, classifier.inputShape);
  if (!pixels) throw new ImageError(file, "the image would not decode at the model's input size");
  return Float32Array.from(pixels, (v) => v / 255);
}

const pct = (p: number) => `${(100 * p).toFixed(2)}%`;

/**
 * A file name as it may go to a terminal: control characters (an escape sequence can clear the
 * screen or fake an answer; a newline, a line) written as JSON writes them, `\u001b`.
 */
const printable = (name: string): string => name.replace(/\p{Cc}/gu, (c) => JSON.stringify(c).slice(1, -1));

/** `Sandal (97.10%)`; `3 (99.20%)` for a class without a name. */
const said = (a: ClassAnswer): string => `${printable(a.name ?? String(a.label))} (${pct(a.probability)})`;

const program = new Command('predict')
  .description('Classify pictures with an exported ONNX model (handwritten digits with the shipped one)')
  .argument('<images...>', "image files, folders of them, or '-' to read paths from stdin (one per line)")
  .option('--model <file>', 'exported model', nonEmptyPath, 'models/mnist.onnx')
  .option('--json', 'print JSON instead of text', false);

runCommand(async () => {
  parseCommand(program);
  const o = program.opts<{ model: string; json: boolean }>();
  const files = await expandImageArguments(program.args, process.stdin);
  if (files.length === 0) throw new UsageError('-: no image paths were read from stdin');
  const classifier = await Classifier.load(o.model);
  if (classifier.preprocess === 'none') {
    throw new OnnxFileError(
      o.model,
      'it was trained on float values, not pictures: predict cannot make its input from an image',
    );
  }
  // One slot per file, in argument order; the readable ones are
  // classified together (in chunks if the model fixes its batch size).
  const outcomes: Outcome[] = [];
  const ready: { slot: number; input: Float32Array }[] = [];
  for (const [slot, { file, problem }] of files.entries()) {
    if (problem) {
      outcomes[slot] = { file, error: problem };
      continue;
    }
    try {
      ready.push({ slot, input: await readInput(file, classifier) });
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
    outcomes[r.slot] = problem
      ? { file, error: `${problem}; ${o.model} is broken` }
      : { file, prediction: predictions[i] };
  });
  await classifier.release();

  if (o.json) console.log(JSON.stringify(outcomes, null, 2));
  for (const outcome of outcomes) {
    const file = printable(outcome.file);
    if ('error' in outcome) console.error(`error: ${file}: ${outcome.error}`);
    else if (!o.json) {
      const { prediction } = outcome;
      console.log(`${file}: ${said(prediction)}, runner-up ${said(prediction.runnerUp)}`);
    }
  }
  if (outcomes.some((x) => 'error' in x)) process.exitCode = 1;
});
