/**
 * The safetensors format (what `safetensors.torch.load_file` reads): an 8-byte little-endian
 * header length, a JSON header {name: {dtype, shape, data_offsets}, __metadata__}, then the
 * raw little-endian tensor bytes.
 */
import { readFileOr } from './read-file.js';
import { FileError } from './errors.js';

export type SafeTensor =
  | { dtype: 'F32'; shape: readonly number[]; data: Float32Array }
  | { dtype: 'I64'; shape: readonly number[]; data: BigInt64Array };

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
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8); // align the data to 8 bytes
  const headerBytes = Buffer.from(json, 'utf8');
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

export function decodeSafetensors(bytes: Uint8Array, file: string): SafeTensors {
  if (bytes.length < 8) throw new SafetensorsError(file, 'truncated: no header');
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  if (8 + headerLength > bytes.length) throw new SafetensorsError(file, 'truncated: header runs past the end of the file');
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLength)).toString('utf8'));
  } catch {
    throw new SafetensorsError(file, 'not a safetensors file (the header is not JSON)');
  }
  const data = bytes.subarray(8 + headerLength);
  const tensors = new Map<string, SafeTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets: [begin, end] } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (end > data.length) throw new SafetensorsError(file, `truncated: tensor '${name}' runs past the end of the file`);
    const raw = data.slice(begin, end); // a copy, aligned for the typed array
    const count = shape.reduce((a, b) => a * b, 1);
    if (dtype === 'F32' && raw.byteLength === count * 4) {
      tensors.set(name, { dtype, shape, data: new Float32Array(raw.buffer, raw.byteOffset, count) });
    } else if (dtype === 'I64' && raw.byteLength === count * 8) {
      tensors.set(name, { dtype, shape, data: new BigInt64Array(raw.buffer, raw.byteOffset, count) });
    } else {
      throw new SafetensorsError(file, `tensor '${name}': ${dtype} ${JSON.stringify(shape)} does not match its ${raw.byteLength} bytes`);
    }
  }
  return { tensors, metadata };
}

export function readSafetensors(file: string): SafeTensors {
  return decodeSafetensors(readFileOr(file, (problem) => new SafetensorsError(file, problem)), file);
}
