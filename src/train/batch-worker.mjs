// Worker entry. Node's worker threads cannot load TypeScript (and vitest's loader does not
// reach into workers), so this plain .mjs loads batch-worker.ts through tsx, in Node and
// under vitest alike.
import { tsImport } from 'tsx/esm/api';

await tsImport('./batch-worker.ts', import.meta.url);
