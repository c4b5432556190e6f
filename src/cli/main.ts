#!/usr/bin/env node
/**
 * The package's command, `onnx-mnist-train <command> [flags]` (what `npx onnx-mnist-train
 * train --epochs 1` runs in a project that installed it): train, export, predict or summary,
 * each the same program as `npm run <command>` here. A model file written in TypeScript is
 * loaded through tsx, as the repository's scripts load it.
 */
import { register } from 'tsx/esm/api';

const COMMANDS = ['train', 'export', 'predict', 'summary'] as const;
type CommandName = (typeof COMMANDS)[number];
const isCommand = (name: string | undefined): name is CommandName => COMMANDS.some((c) => c === name);

const USAGE = `usage: onnx-mnist-train <command> [flags]   (command --help lists its flags)
commands:
  train     train a network (the seed CNN, or --model file.ts|.onnx) on MNIST or your IDX data
  export    export a checkpoint as a verified inference .onnx with a model card
  predict   classify pictures of digits with an exported .onnx
  summary   print a network's layers, output shapes and parameters`;

const command = process.argv[2];
if (command === undefined || command === '--help' || command === '-h') {
  console.log(USAGE);
  process.exit(command === undefined ? 1 : 0);
}
if (!isCommand(command)) {
  console.error(`error: '${command}' is not a command (${COMMANDS.join(', ')}); onnx-mnist-train --help lists them`);
  process.exit(1);
}
register(); // model files may be TypeScript
process.argv.splice(2, 1); // the command's own parser sees only its flags
await import(`./${command}.js`);
