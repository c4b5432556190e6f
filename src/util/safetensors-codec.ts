/**
 * The safetensors format (what `safetensors.torch.load_file` reads): an 8-byte little-endian
 * header length, a JSON header {name: {dtype, shape, data_offsets}, __metadata__}, then the
 * raw little-endian tensor bytes. This module imports nothing from Node (TextEncoder,
 * TextDecoder and DataView only), so the training page encodes its checkpoint with it;
 * safetensors.node.ts adds reading a file for Node.
 */
import { FileError } from './errors.js';

export type SafeTensor =
  | { dtype: 'F32'; shape: readonly number[]; data: Float32Array }
  | { dtype: 'I64'; shape: readonly number[]; data: BigInt64Array }
  | { dtype: 'U8'; shape: readonly number[]; data: Uint8Array }
  | { dtype: 'U16'; shape: readonly number[]; data: Uint16Array };

export interface SafeTensors {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
}

export class SafetensorsError extends FileError {}

export function encodeSafetensors(tensors: Map<string, SafeTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  const utf8 = new TextEncoder();
  const unpadded = utf8.encode(json).length;
  json += ' '.repeat((8 - ((8 + unpadded) % 8)) % 8); // align the data to 8 bytes
  const headerBytes = utf8.encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/** Bytes per element of every dtype the format defines; only F32 and I64 are decoded. */
const DTYPE_SIZES: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
};

/** The reference implementation's limit: a longer header is damage, not a model. */
const MAX_HEADER_BYTES = 100_000_000;

interface Entry {
  name: string;
  dtype: SafeTensor['dtype'];
  shape: number[];
  begin: number;
  end: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInteger = (v: unknown): v is number => Number.isSafeInteger(v);
const isCount = (v: unknown): v is number => isInteger(v) && v >= 0;

/** Reads and parses the JSON header; returns it with the data section that follows it. */
function splitHeader(bytes: Uint8Array, file: string): { header: Record<string, unknown>; data: Uint8Array } {
  if (bytes.length < 8) throw new SafetensorsError(file, 'truncated: no header');
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (length > BigInt(bytes.length - 8)) {
    throw new SafetensorsError(
      file,
      `truncated: the header length ${length} runs past the end of the file (${bytes.length} bytes)`,
    );
  }
  if (length > BigInt(MAX_HEADER_BYTES))
    throw new SafetensorsError(file, `the header length ${length} is implausibly large`);
  const end = 8 + Number(length);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, end));
  } catch {
    throw new SafetensorsError(file, 'not a safetensors file (the header is not valid UTF-8)');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch {
    throw new SafetensorsError(file, 'not a safetensors file (the header is not JSON)');
  }
  if (!isObject(header)) throw new SafetensorsError(file, 'not a safetensors file (the header is not a JSON object)');
  return { header, data: bytes.subarray(end) };
}

/** Checks one header entry against the data section's length. */
function parseEntry(name: string, entry: unknown, dataLength: number, file: string): Entry {
  const fail = (problem: string) => new SafetensorsError(file, `tensor '${name}': ${problem}`);
  if (!isObject(entry)) throw fail('not an object with dtype, shape and data_offsets');
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_SIZES)) throw fail(`unknown dtype ${JSON.stringify(dtype)}`);
  if (dtype !== 'F32' && dtype !== 'I64' && dtype !== 'U8' && dtype !== 'U16')
    throw fail(`dtype ${dtype} is not supported (F32, I64, U8, U16)`);
  if (!Array.isArray(shape) || !shape.every(isCount))
    throw fail(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isInteger)) {
    throw fail(`data_offsets ${JSON.stringify(offsets)} is not two integers`);
  }
  const [begin, end] = offsets;
  if (!(begin >= 0 && begin <= end && end <= dataLength)) {
    throw fail(`data_offsets ${JSON.stringify(offsets)} are not 0 <= begin <= end <= ${dataLength}`);
  }
  // In floating point a huge shape's byte count is inexact, but never equal to a small true one.
  const bytes = shape.reduce((a, b) => a * b, DTYPE_SIZES[dtype]);
  if (bytes !== end - begin)
    throw fail(
      `${dtype} ${JSON.stringify(shape)} needs ${bytes} bytes, ` +
        `data_offsets ${JSON.stringify(offsets)} give ${end - begin}`,
    );
  return { name, dtype, shape, begin, end };
}

/** The tensors must tile the data section exactly, as the reference implementation requires. */
function checkLayout(entries: Entry[], dataLength: number, file: string): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let previous: Entry | undefined;
  for (const e of sorted) {
    if (previous && e.begin < at)
      throw new SafetensorsError(file, `tensors '${previous.name}' and '${e.name}' overlap`);
    if (e.begin > at)
      throw new SafetensorsError(
        file,
        `bytes ${at}-${e.begin} of the data belong to no tensor (a gap before '${e.name}')`,
      );
    at = e.end;
    previous = e;
  }
  if (at !== dataLength)
    throw new SafetensorsError(
      file,
      `${dataLength - at} bytes after the last tensor belong to no tensor (trailing data)`,
    );
}

const isStringMap = (v: unknown): v is Record<string, string> =>
  isObject(v) && Object.values(v).every((x) => typeof x === 'string');

function parseMetadata(value: unknown, file: string): Record<string, string> {
  if (!isStringMap(value)) throw new SafetensorsError(file, '__metadata__ is not a map of strings');
  return value;
}

/** Decodes a whole file; anything malformed is a SafetensorsError naming `file`. */
export function decodeSafetensors(bytes: Uint8Array, file: string): SafeTensors {
  const { header, data } = splitHeader(bytes, file);
  let metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') metadata = parseMetadata(entry, file);
    else entries.push(parseEntry(name, entry, data.length, file));
  }
  checkLayout(entries, data.length, file);
  const tensors = new Map<string, SafeTensor>();
  for (const { name, dtype, shape, begin, end } of entries) {
    // a copy, aligned for the typed array (a Buffer's slice would be a view)
    const raw = new Uint8Array(data.subarray(begin, end));
    if (dtype === 'F32')
      tensors.set(name, { dtype, shape, data: new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4) });
    else if (dtype === 'U8') tensors.set(name, { dtype, shape, data: raw });
    else if (dtype === 'U16')
      tensors.set(name, { dtype, shape, data: new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2) });
    else tensors.set(name, { dtype, shape, data: new BigInt64Array(raw.buffer, raw.byteOffset, raw.byteLength / 8) });
  }
  return { tensors, metadata };
}
