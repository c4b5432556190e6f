/** The names the graphs give their own inputs and outputs (graphs.ts); no state entry may take one. */
export const IMAGE = 'input';
export const TARGET = 'target';
export const LOG_PROBS = 'log_probs';
/** The evaluation graph's output for the regression losses: the network's output as it is. */
export const OUTPUT = 'output';
export const LR = 'lr';
export const STEP = 'step';
export const LOSS = 'loss';
export const CORRECT = 'correct';
export const AVERAGE_DECAY = 'average_decay';

export const GRAPH_NAMES: readonly string[] = [
  IMAGE,
  TARGET,
  LOG_PROBS,
  OUTPUT,
  LR,
  STEP,
  LOSS,
  CORRECT,
  AVERAGE_DECAY,
];
