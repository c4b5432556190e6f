import { expect, test } from 'vitest';
import { DEFAULT_RECIPE, ONECYCLE, recipeFor } from '../../src/train/core/recipe.js';
import { learningRate } from '../../src/train/core/schedule.js';

const clock = (step: number) => ({ step, stepsPerEpoch: 10, totalSteps: 100 });

test('StepLR multiplies by gamma every step_size epochs', () => {
  const s = { kind: 'step' as const, stepSize: 3, gamma: 0.1 };
  expect(learningRate(s, 0.05, clock(0))).toBe(0.05);
  expect(learningRate(s, 0.05, clock(29))).toBe(0.05); // epoch 2
  expect(learningRate(s, 0.05, clock(30))).toBeCloseTo(0.005, 12); // epoch 3
  expect(learningRate(s, 0.05, clock(60))).toBeCloseTo(0.0005, 12);
});

test("OneCycleLR matches PyTorch's anchors (pct_start 0.3, div 25, final div 1e4, cosine)", () => {
  const s = { kind: 'onecycle' as const, pctStart: 0.3, divFactor: 25, finalDivFactor: 1e4 };
  expect(learningRate(s, 0.05, clock(0))).toBeCloseTo(0.002, 12); // max_lr / div_factor
  expect(learningRate(s, 0.05, clock(29))).toBeCloseTo(0.05, 12); // peak at pct_start * total - 1
  expect(learningRate(s, 0.05, clock(99))).toBeCloseTo(0.002 / 1e4, 12); // initial / final_div_factor
  // torch.optim.lr_scheduler.OneCycleLR(max_lr=0.05, total_steps=100) after 14 and 64 steps:
  const mid1 = 0.05 + ((0.002 - 0.05) / 2) * (Math.cos((Math.PI * 14) / 29) + 1);
  const mid2 = 2e-7 + ((0.05 - 2e-7) / 2) * (Math.cos((Math.PI * (64 - 29)) / 70) + 1);
  expect(learningRate(s, 0.05, clock(14))).toBeCloseTo(mid1, 12);
  expect(learningRate(s, 0.05, clock(64))).toBeCloseTo(mid2, 12);
});

test('a step-limited run plans the whole epochs it touches and stops at maxSteps (recipeFor, the page runs)', () => {
  const steps = recipeFor({ kind: 'steps', steps: 300 }, 1000, { batchSize: 64, schedule: ONECYCLE });
  // 16 steps an epoch
  expect([steps.epochs, steps.maxSteps, steps.batchSize, steps.schedule]).toEqual([19, 300, 64, ONECYCLE]);
  const epochs = recipeFor({ kind: 'epochs', epochs: 3 }, 1000);
  expect([epochs.epochs, epochs.maxSteps, epochs.batchSize]).toEqual([3, undefined, DEFAULT_RECIPE.batchSize]);
});
