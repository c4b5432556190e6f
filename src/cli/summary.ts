/** `npm run summary`: the seed CNN's layers, output shapes, parameter counts and MACs. */
import { Command } from 'commander';
import { formatSummary, summarize } from '../model/summary.js';
import { seedCnn } from '../model/seed-cnn.js';
import { runCommand } from './errors.js';

runCommand(async () => {
  new Command('summary').description('Print the seed CNN as a torchsummary-style table').parse();
  console.log(formatSummary(summarize(seedCnn())));
});
