/** Element types the builder emits, with their ONNX `TensorProto.DataType` codes. */
export const ONNX_DTYPE = {
  float32: 1,
  uint8: 2,
  int32: 6,
  int64: 7,
  bool: 9,
  float64: 11,
} as const;

export type DType = keyof typeof ONNX_DTYPE;

export type AnyTypedArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

export function dtypeFromOnnx(code: number): DType {
  for (const [name, value] of Object.entries(ONNX_DTYPE)) if (value === code) return name as DType;
  throw new Error(`unsupported ONNX element type ${code}`);
}

/** A typed array of the right kind for `dtype`, holding `values` (numbers, converted). */
export function typedArray(dtype: DType, values: ArrayLike<number> | number): AnyTypedArray {
  const n = typeof values === 'number' ? values : values.length;
  const src = typeof values === 'number' ? undefined : values;
  switch (dtype) {
    case 'float32':
      return src ? Float32Array.from(src) : new Float32Array(n);
    case 'float64':
      return src ? Float64Array.from(src) : new Float64Array(n);
    case 'int32':
      return src ? Int32Array.from(src) : new Int32Array(n);
    case 'int64':
      return src ? BigInt64Array.from(Array.from(src, (v) => BigInt(v))) : new BigInt64Array(n);
    case 'bool':
    case 'uint8':
      return src ? Uint8Array.from(src) : new Uint8Array(n);
  }
}
