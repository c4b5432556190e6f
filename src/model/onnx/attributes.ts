/**
 * A node's attributes, parsed once with their defaults as the ONNX specification gives them: a
 * converter declares what it reads (`{ alpha: float(0.01), pads: ints() }`) and gets a typed
 * object, as onnx's reference ops declare theirs.
 */
import type onnxProto from 'onnx-proto';
import { toNumber } from '../../graph/tensor-proto.js';
import type { NodeP } from './values.js';

type AttributeP = onnxProto.onnx.IAttributeProto;

/** How to read one attribute, and its value when the node does not set it. */
export interface AttributeSpec<T> {
  read(a: AttributeP | undefined): T;
}
export type AttributeSpecs = Record<string, AttributeSpec<unknown>>;
export type Attributes<S extends AttributeSpecs> = { [K in keyof S]: S[K] extends AttributeSpec<infer T> ? T : never };

const isSet = <T>(v: T | null | undefined): v is T => v !== undefined && v !== null;

export const int = (fallback: number): AttributeSpec<number> => ({
  read: (a) => {
    const i = a?.i;
    return isSet(i) ? toNumber(i) : fallback;
  },
});
export const float = (fallback: number): AttributeSpec<number> => ({ read: (a) => a?.f ?? fallback });
/** A list of ints; absent (or empty) when the node does not set it. */
export const ints = (): AttributeSpec<number[] | undefined> => ({
  read: (a) => (a?.ints?.length ? a.ints.map(toNumber) : undefined),
});
export const string = (fallback: string): AttributeSpec<string> => ({
  read: (a) => (a?.s?.length ? new TextDecoder().decode(a.s) : fallback),
});

/** `node`'s attributes as `spec` declares them. */
export function parseAttributes<S extends AttributeSpecs>(node: NodeP, spec: S): Attributes<S> {
  const byName = new Map((node.attribute ?? []).map((a) => [a.name ?? '', a]));
  return Object.fromEntries(Object.entries(spec).map(([name, s]) => [name, s.read(byName.get(name))])) as Attributes<S>;
}
