// Worker entry: loads the TypeScript worker through tsx, in Node and under vitest alike.
import { tsImport } from 'tsx/esm/api';

await tsImport('./batch-worker.ts', import.meta.url);
