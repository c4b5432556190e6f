/**
 * Learning-rate schedules as pure functions of the optimizer step, with PyTorch's
 * semantics: StepLR steps once an epoch, OneCycleLR once a batch (cosine annealing).
 * The rate is fed to the graph each step, so schedules live here, not in the graph.
 */
export type Schedule =
  | { kind: 'constant' }
  /** StepLR: multiply by `gamma` every `stepSize` epochs. */
  | { kind: 'step'; stepSize: number; gamma: number }
  /** OneCycleLR with max_lr = the base rate; LR only (cycle_momentum is not modelled). */
  | { kind: 'onecycle'; pctStart: number; divFactor: number; finalDivFactor: number };

export interface ScheduleClock {
  /** Optimizer step, from 0. */
  step: number;
  stepsPerEpoch: number;
  totalSteps: number;
}

const annealCos = (start: number, end: number, pct: number) =>
  end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);

export function learningRate(
  schedule: Schedule,
  baseLr: number,
  { step, stepsPerEpoch, totalSteps }: ScheduleClock,
): number {
  switch (schedule.kind) {
    case 'constant':
      return baseLr;
    case 'step':
      return baseLr * schedule.gamma ** Math.floor(Math.floor(step / stepsPerEpoch) / schedule.stepSize);
    case 'onecycle': {
      const initial = baseLr / schedule.divFactor;
      const min = initial / schedule.finalDivFactor;
      const warmEnd = schedule.pctStart * totalSteps - 1;
      if (step <= warmEnd) return annealCos(initial, baseLr, step / warmEnd);
      return annealCos(baseLr, min, (step - warmEnd) / (totalSteps - 1 - warmEnd));
    }
  }
}

/**
 * The learning rate of a run at `clock.step`: its schedule from its base rate, rescaled from
 * the newest rate set on resume (`lrChanges`) so that the schedule passes through that rate at
 * the step where it was set (StepLR keeps decaying from there; constant stays there).
 */
export function scheduledLr(
  run: { schedule: Schedule; lr: number; lrChanges?: readonly { step: number; lr: number }[] },
  clock: ScheduleClock,
): number {
  const at = (step: number) => learningRate(run.schedule, run.lr, { ...clock, step });
  const change = run.lrChanges?.findLast((c) => c.step <= clock.step);
  return change ? (change.lr * at(clock.step)) / at(change.step) : at(clock.step);
}

/**
 * The decay of the weight average at optimizer update `update` (from 1): `decay`, warmed up as
 * tf.train.ExponentialMovingAverage does with num_updates, so the first updates are not
 * dragged towards the random initialisation.
 */
export const averageDecay = (decay: number, update: number): number => Math.min(decay, (1 + update) / (10 + update));
