/** `npm run summary [-- --model net.ts]`: a network's layers, output shapes, parameter counts and MACs. */
import { Command } from 'commander';
import { formatSummary, summarize } from '../model/summary.js';
import { runCommand } from './errors.js';
import { builtinModel, loadModelFile } from './training-model.js';
import { nonEmptyPath, parseCommand } from './parse.js';

runCommand(async () => {
  const program = new Command('summary')
    .description('Print a network as a torchsummary-style table (default: the built-in seed CNN)')
    .option(
      '--model <file>',
      "a model file: a .ts whose default export is a module written with this package's layers, " +
        'or an .onnx exported by PyTorch',
      nonEmptyPath,
    );
  const o = parseCommand(program).opts<{ model?: string }>();
  const { net } = o.model === undefined ? builtinModel() : await loadModelFile(o.model);
  console.log(formatSummary(summarize(net)));
});
