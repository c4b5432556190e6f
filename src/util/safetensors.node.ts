/**
 * The safetensors format for Node: the runtime-neutral codec (safetensors-codec.ts, which the
 * browser imports) and reading a file.
 */
import { readFileOr } from './read-file.node.js';
import { decodeSafetensors, type SafeTensors, SafetensorsError } from './safetensors-codec.js';

export {
  decodeSafetensors,
  encodeSafetensors,
  type SafeTensor,
  type SafeTensors,
  SafetensorsError,
} from './safetensors-codec.js';

export function readSafetensors(file: string): SafeTensors {
  return decodeSafetensors(
    readFileOr(file, (problem) => new SafetensorsError(file, problem)),
    file,
  );
}
