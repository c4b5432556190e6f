/**
 * MNIST in the worker: the four IDX files fetched (gzipped) from
 * the page's own server, checked as the Node loader checks them.
 */
import type { Split } from '../../src/data/dataset.js';
import { DataError, isGzip } from '../../src/data/idx-format.js';
import { type IdxFile, MNIST_FILES, type SplitName, splitFromIdx } from '../../src/data/mnist-format.js';
import { messageOf } from '../../src/util/errors.js';

/**
 * Fetches one gzipped IDX file and gunzips it. Some static servers (Vite's preview among them)
 * send a `.gz` file with `Content-Encoding: gzip`, and the browser then hands over the plain
 * bytes: the gzip magic, not the server, decides whether there is anything to gunzip.
 */
async function fetchIdx(dataUrl: string, name: string): Promise<IdxFile> {
  const url = `${dataUrl}${name}.gz`;
  const res = await fetch(url);
  if (!res.ok) throw new Error(`could not load ${url} (HTTP ${res.status})`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (!isGzip(bytes)) return { name: `${name}.gz`, bytes };
  const plain = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  try {
    return { name: `${name}.gz`, bytes: new Uint8Array(await new Response(plain).arrayBuffer()) };
  } catch (e) {
    throw new DataError(url, `corrupt gzip data (${messageOf(e)})`);
  }
}

/** One split, checked by the same code as the Node loader's; fetched once per worker. */
const splits = new Map<string, Promise<Split>>();
export function fetchSplit(dataUrl: string, split: SplitName): Promise<Split> {
  const key = `${dataUrl}${split}`;
  let loading = splits.get(key);
  if (!loading) {
    loading = Promise.all(MNIST_FILES[split].map((name) => fetchIdx(dataUrl, name))).then(([images, labels]) =>
      splitFromIdx(images, labels),
    );
    loading.catch(() => splits.delete(key)); // a failed fetch may be retried
    splits.set(key, loading);
  }
  return loading;
}
