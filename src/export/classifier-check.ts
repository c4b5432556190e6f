/**
 * What a classifier must be before anyone is shown its answer, checked the same way by `predict`
 * (classifier.node.ts) and the draw page: a feed-forward graph (no Loop, If or Scan, whose run
 * time nothing bounds), the card in its own metadata (`classes` a sane whole number, agreeing
 * with the model's `probabilities` output), and each answer a finite probability distribution.
 * Pure: the page runs it on the bytes it fetched.
 */
import type onnxProto from 'onnx-proto';
import type { Preprocess } from './model-card.js';
import { INPUT, PROBABILITIES } from './model-io.js';

type GraphP = onnxProto.onnx.IGraphProto;
type NodeP = onnxProto.onnx.INodeProto;

/**
 * Float32 softmax rows are within a few ulps of [0,1] and of summing
 * to 1; 1e-4 per class is far beyond that, far below any real error.
 */
const TOLERANCE = 1e-4;
/** The most classes a card may claim: a card of 10^8 classes froze the draw page. */
const MAX_CLASSES = 100_000;
const CONTROL_FLOW = new Set(['Loop', 'If', 'Scan']);

/**
 * The first Loop, If or Scan anywhere in the model (subgraphs and functions included), as
 * `Loop node 'x'`, or undefined. Walked with a list, not recursion: a model can nest 2,000 deep.
 */
function controlFlowNode(model: onnxProto.onnx.IModelProto): string | undefined {
  const graphs: (GraphP | null | undefined)[] = [model.graph];
  const nodes: NodeP[] = (model.functions ?? []).flatMap((f) => f.node ?? []);
  while (graphs.length > 0 || nodes.length > 0) {
    const node = nodes.pop();
    if (node) {
      if (CONTROL_FLOW.has(node.opType ?? '')) return `${node.opType} node '${node.name ?? ''}'`;
      for (const a of node.attribute ?? []) graphs.push(a.g, ...(a.graphs ?? []));
      continue;
    }
    nodes.push(...(graphs.pop()?.node ?? []));
  }
  return undefined;
}

/** Why a model cannot be run as a classifier here because of its graph, or undefined. */
export function graphProblem(model: onnxProto.onnx.IModelProto): string | undefined {
  const loop = controlFlowNode(model);
  return loop
    ? `it uses control flow (${loop}), whose run time nothing bounds: only feed-forward models are run here`
    : undefined;
}

/** The model card in a model's metadata_props: each value as the JSON it was written as, else the string. */
export function cardOf(model: onnxProto.onnx.IModelProto): Record<string, unknown> {
  const card: Record<string, unknown> = {};
  for (const { key, value } of model.metadataProps ?? []) {
    if (!key) continue;
    try {
      card[key] = JSON.parse(value ?? '');
    } catch {
      card[key] = value ?? '';
    }
  }
  return card;
}

/** The classes a card gives (10, the digits, when it says nothing), or why its `classes` cannot be. */
export function cardClasses(card: Record<string, unknown>): { classes: number } | { problem: string } {
  const value = card.classes;
  if (value === undefined) return { classes: 10 };
  const n = Number(value);
  if (!Number.isInteger(n) || n < 2 || n > MAX_CLASSES) {
    return {
      problem:
        `the model card's classes is '${String(value)}', ` +
        `expected a whole number from 2 to ${MAX_CLASSES.toLocaleString('en-US')}`,
    };
  }
  return { classes: n };
}

/** The card's class names (undefined when it gives none), or why they cannot be the classes'. */
export function cardClassNames(
  card: Record<string, unknown>,
  classes: number,
): { names?: readonly string[] } | { problem: string } {
  const names = card.class_names;
  if (names === undefined) return {};
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string'))
    return { problem: "the model card's class_names is not a list of names" };
  if (names.length !== classes)
    return { problem: `the model card names ${names.length} classes; its classes is ${classes}` };
  return { names };
}

/** The largest input side read here: a card or graph claiming more is not a picture model. */
const MAX_SIDE = 4096;

/** Why a model's input of one example, [C, H, W], is not one a picture can fill, or undefined. */
export function pictureShapeProblem(shape: readonly (number | string)[]): string | undefined {
  const [c, h, w] = shape;
  const side = (d: number | string) => typeof d === 'number' && Number.isInteger(d) && d >= 1 && d <= MAX_SIDE;
  if (shape.length === 3 && (c === 1 || c === 3) && side(h) && side(w)) return undefined;
  return (
    `[${shape.join(',')}] is not a picture's shape: ` +
    `expected [C,H,W] with 1 (grey) or 3 (RGB) channels and sides from 1 to ${MAX_SIDE}`
  );
}

/**
 * How the card says pictures become the input: its `preprocess`, else
 * (cards before it) MNIST-style for 1x28x28, stretched for any other shape.
 */
export function cardPreprocess(
  card: Record<string, unknown>,
  shape: readonly (number | string)[],
): { preprocess: Preprocess } | { problem: string } {
  const value = card.preprocess;
  if (value === undefined) return { preprocess: shape.join() === '1,28,28' ? 'digit' : 'resize' };
  if (value !== 'digit' && value !== 'resize' && value !== 'none')
    return { problem: `the model card's preprocess is '${String(value)}', expected digit, resize or none` };
  if (value === 'digit' && shape.join() !== '1,28,28')
    return { problem: `the model card says MNIST-style digits, which are 1x28x28; its input is [${shape.join(',')}]` };
  return { preprocess: value };
}

/** The `image` input's shape per example ([C, H, W]) as the graph declares it, when it fixes every dimension. */
export function declaredInput(model: onnxProto.onnx.IModelProto): number[] | undefined {
  const dims = model.graph?.input?.find((i) => i.name === INPUT)?.type?.tensorType?.shape?.dim;
  const example = dims
    ?.slice(1)
    .map((d) => (d.dimValue === undefined || d.dimValue === null ? undefined : Number(d.dimValue)));
  return example && example.length > 0 && example.every((d): d is number => d !== undefined) ? example : undefined;
}

/** The `probabilities` output's class count as the graph declares it, when it fixes one. */
export function declaredClasses(model: onnxProto.onnx.IModelProto): number | undefined {
  const output = model.graph?.output?.find((o) => o.name === PROBABILITIES);
  const dims = output?.type?.tensorType?.shape?.dim;
  const last = dims?.length === 2 ? dims[1].dimValue : undefined;
  return last === undefined || last === null ? undefined : Number(last);
}

/** Why an output of shape `dims` is not one row of `classes` probabilities per image, or undefined. */
export function outputProblem(dims: readonly number[], batch: number, classes: number): string | undefined {
  if (dims.length === 2 && dims[0] === batch && dims[1] === classes) return undefined;
  return (
    `its ${PROBABILITIES} output is [${dims.join(',')}] for ${batch} image${batch === 1 ? '' : 's'}, ` +
    `expected [${batch},${classes}]`
  );
}

/** The first value that is not a finite number ('NaN', 'Infinity', '-Infinity'), if any. */
export function nonFinite(values: readonly number[]): string | undefined {
  const bad = values.find((v) => !Number.isFinite(v));
  return bad === undefined ? undefined : String(bad);
}

/** Four significant digits: enough to show what is wrong, without float32's noise. */
const round = (v: number): number => Number(v.toPrecision(4));

/**
 * Why a row is not a probability distribution (values in [0,1] summing to 1, to float32
 * rounding), or undefined. A non-finite value is left to nonFinite, which names it.
 */
export function notProbabilities(p: readonly number[]): string | undefined {
  if (nonFinite(p)) return undefined;
  const outside = p.find((v) => v < -TOLERANCE || v > 1 + TOLERANCE);
  if (outside !== undefined) return `a probability of ${round(outside)}, outside [0,1]`;
  const sum = p.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > TOLERANCE * p.length) return `probabilities that sum to ${round(sum)}, not 1`;
  return undefined;
}

/** Why one answer cannot be shown as an answer (not finite, not probabilities), or undefined. */
export function answerProblem(p: readonly number[]): string | undefined {
  const nan = nonFinite(p);
  if (nan) return `the model's output is not finite (${nan})`;
  const odd = notProbabilities(p);
  return odd ? `the model's output is not a probability distribution (${odd})` : undefined;
}
