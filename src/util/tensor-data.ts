/**
 * A tensor's values as float32, checked rather than cast: for the tensors that are float32 by
 * construction or by an earlier check (ORT outputs of the project's graphs and of vetted models,
 * the training state, float32 initializers). Any other element type is a bug, and says so.
 * Runtime-neutral: it takes ORT's tensors (Node and web) and tensorValues' records alike.
 */
export function floatData(t: { readonly data: unknown }): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  throw new TypeError(`expected float32 values, got ${Object.prototype.toString.call(t.data).slice(8, -1)}`);
}
