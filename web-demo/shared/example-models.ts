/**
 * The networks the training page offers: the built-in seed CNN, each examples/ model file
 * present when the page is built (each bundled as its own chunk, loaded only when chosen), and
 * an .onnx the user gives the page. The page lists them; the worker loads the chosen one
 * (`exampleExports`, or imports the file) and makes its Network.
 */
const files = import.meta.glob<Record<string, unknown>>('../../examples/*.ts');
const nameOf = (path: string) => path.slice(path.lastIndexOf('/') + 1).replace(/\.ts$/, '');

/** The built-in default's id. */
export const BUILTIN = 'builtin';

/** What the page's model chooser lists: id and label. */
export const MODEL_CHOICES: readonly { id: string; label: string }[] = [
  { id: BUILTIN, label: 'the seed CNN (built-in)' },
  ...Object.keys(files).map((path) => ({ id: nameOf(path), label: `examples/${nameOf(path)}.ts` })),
];

/** The id of an .onnx the user gave the page: `file:<its name>`. */
export const fileModelId = (name: string): string => `file:${name}`;
export const isFileModel = (id: string): boolean => id.startsWith('file:');

export const isModelChoice = (id: string): boolean => isFileModel(id) || MODEL_CHOICES.some((c) => c.id === id);

/** The exports of examples/<id>.ts: `default` (the module) and maybe `inputShape`. */
export async function exampleExports(id: string): Promise<Record<string, unknown>> {
  const load = Object.entries(files).find(([path]) => nameOf(path) === id)?.[1];
  if (!load) throw new Error(`no model '${id}' in this build's examples/`);
  return load();
}
