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
import { expandImageArguments, type ImageArgument, ImageError, readImage } from './image-file.js';
import { readFileOr } from '../util/read-file.node.js';
import { nonEmptyPath, parseCommand } from './parse.js';

type Outcome = { file: string; prediction: Prediction } | { file: string; error: string };

/** The model input for one file; an unusable file throws an ImageError or a BlankImageError. */
async function readInput({ file, path }: ImageArgument, classifier: Classifier): Promise<Float32Array> {
  const image = await readImage(file, path); // checks the file, with its errors, whatever the model
  if (classifier.preprocess === 'digit') return mnistInput(image);
  const bytes = readFileOr(path ?? file, (problem) => new ImageError(file, problem));
  const pixels = await decodeImage(bytes, classifier.inputShape);
  if (!pixels) throw new ImageError(file, "the image would not decode at the model's input size");
  return Float32Array.from(pixels, (v) => v / 255);
}

/** Files read and classified together: 12,000 pictures are never all held at once. */
const ROUND = 256;

/** Each file's answer or error, in order; the files are read and classified ROUND at a time. */
async function outcomesOf(files: readonly ImageArgument[], classifier: Classifier, model: string): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (let start = 0; start < files.length; start += ROUND) {
    const ready: { file: string; input: Float32Array }[] = [];
    const round: (Outcome | undefined)[] = [];
    for (const argument of files.slice(start, start + ROUND)) {
      const { file, problem } = argument;
      if (problem) round.push({ file, error: problem });
      else round.push(await inputOf(argument, classifier, ready));
    }
    const predictions = await classifier.classify(ready.map((r) => r.input));
    const answers = ready.map(({ file }, i): Outcome => {
      // A broken model can give NaN, or numbers that are not probabilities; never print them as an answer.
      const problem = answerProblem(predictions[i].probabilities);
      return problem ? { file, error: `${problem}; ${model} is broken` } : { file, prediction: predictions[i] };
    });
    let answered = 0;
    for (const o of round) outcomes.push(o ?? answers[answered++]);
  }
  return outcomes;
}

/** Reads one file into `ready` (undefined: its answer comes from the model), or its error. */
async function inputOf(
  argument: ImageArgument,
  classifier: Classifier,
  ready: { file: string; input: Float32Array }[],
): Promise<Outcome | undefined> {
  const { file } = argument;
  try {
    ready.push({ file, input: await readInput(argument, classifier) });
    return undefined;
  } catch (e) {
    if (e instanceof ImageError) return { file, error: e.problem };
    if (e instanceof BlankImageError) return { file, error: e.message };
    throw e;
  }
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
  const outcomes = await outcomesOf(files, classifier, o.model);
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
