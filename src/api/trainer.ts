/**
 * The library's Trainer: the training core's (src/train/core/trainer.ts: step, fit, evaluate,
 * state in and out) with the verified export for inference, which lives a layer above training
 * (src/export). Runtime-neutral: `onnx-mnist-train/node` and `onnx-mnist-train/web` make it on
 * their runtime.
 */
import type { Split } from '../data/dataset.js';
import { cardMetadata, type ModelCard, modelCard, preprocessFor } from '../export/model-card.js';
import { inferenceModelBytes } from '../export/inference.js';
import { exportVerified, type Verification } from '../export/verify-core.js';
import { isClassification } from '../model/loss.js';
import { normalizationOf } from '../train/core/recipe.js';
import { RecipeError, TrainerBase } from '../train/core/trainer.js';

export {
  type Evaluation,
  type FitOptions,
  type FitResult,
  type ModelSource,
  type Recipe,
  RecipeError,
  type ResumePoint,
  type TrainerSetup,
} from '../train/core/trainer.js';

/** A verified inference model: its bytes, the card in its metadata, and the check that passed. */
export interface ExportedModel {
  /** The `.onnx` file: input `image` float32 [N, C, H, W] in the data's units, outputs `logits` and `probabilities`. */
  onnx: Uint8Array;
  card: ModelCard;
  verification: Verification;
}

export interface ExportOptions {
  /** Names what made the model in its card (default "trained with onnx-mnist-train"). */
  source?: string;
  /** The source commit to record (default "unknown"). */
  sourceCommit?: string;
}

export class Trainer extends TrainerBase {
  /**
   * The inference model of the evaluated state: BatchNorm folded into the convs, no dropout,
   * the recipe's normalisation inside, checked against the evaluation graph on `data` (default:
   * the last validation or evaluation data) before it is returned: every probability within
   * 1e-4 and every prediction the same, else an ExportError. Classifiers only.
   */
  async exportInference(
    data: Split | undefined = this.verificationData,
    options: ExportOptions = {},
  ): Promise<ExportedModel> {
    if (!isClassification(this.net.options.loss))
      throw new RecipeError(`exportInference: only classifiers export (this model's loss is ${this.net.options.loss})`);
    if (!data)
      throw new RecipeError(
        'exportInference: give the data to verify the export on (or evaluate, or fit with validation data, first)',
      );
    const normalize = normalizationOf(this.recipe);
    const { graph, verification } = await exportVerified(
      this.runtime,
      this.net,
      this.modelState(),
      data,
      normalize,
      'nothing was exported',
    );
    const card = modelCard(this.net, graph, verification, {
      recipe: this.recipe,
      epochs: this.history.at(-1)?.epoch ?? 0,
      steps: this.position.step,
      normalize,
      classNames: data.classNames,
      preprocess: preprocessFor(this.net.inputShape, data),
      checkpoint: options.source ?? 'trained with onnx-mnist-train',
      sourceCommit: options.sourceCommit ?? 'unknown',
    });
    return { onnx: inferenceModelBytes(graph, cardMetadata(card)), card, verification };
  }
}
