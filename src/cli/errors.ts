/** Entry-point wrapper: expected failures print one line (`error: <file>: <problem>`) and exit 1. */
import { DataError } from '../data/idx.js';
import { ModelError } from '../export/classifier.js';
import { ExportError } from '../export/verify.js';
import { ShapeError } from '../graph/shape.js';
import { CheckpointError } from '../train/checkpoint.js';
import { DeviceError } from '../train/session.js';
import { DivergedError } from '../train/trainer.js';
import { SafetensorsError } from '../util/safetensors.js';

/** Errors whose message is the whole story: no stack trace for the user. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const EXPECTED = [ModelError, ExportError, DataError, UsageError, CheckpointError, DeviceError, DivergedError, SafetensorsError, ShapeError];

export function runCommand(main: () => Promise<void>): void {
  main().catch((e: unknown) => {
    const known = EXPECTED.some((cls) => e instanceof cls);
    if (known) console.error(`error: ${(e as Error).message}`);
    else console.error(e);
    process.exitCode = 1;
  });
}
