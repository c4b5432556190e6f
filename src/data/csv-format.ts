/**
 * A data set as CSV, Kaggle's digit-recognizer layout: a header row, then one example per row,
 * a label column (`label` by default, or none: rows of pixels only) and one column per value,
 * row-major over [C, H, W]; values 0-255 (kept as bytes) or any numbers (kept as floats).
 * Parsed from text already in memory: no Node API, so a page parses what it read the same way.
 */
import { type ClassLabels, exampleSize, type Split } from './dataset.js';
import { DataError } from './idx-format.js';

export interface CsvOptions {
  /** The label column's name (default `label`); null for rows without labels. */
  labelColumn?: string | null;
  /** One example's shape; default: [1, s, s] for s x s values (784 -> [1, 28, 28]). */
  shape?: readonly number[];
  /** Labels must be below this (the model's classes), when given. */
  classes?: number;
}

/** [1, s, s] for a square number of values, else undefined. */
function squareShape(values: number): number[] | undefined {
  const side = Math.round(Math.sqrt(values));
  return side * side === values ? [1, side, side] : undefined;
}

/** A CSV file's examples as a Split; `file` names it in errors, which also name the line. */
export function splitFromCsv(text: string, file: string, options: CsvOptions = {}): Split {
  const lines = text.split(/\r?\n/);
  while (lines.at(-1)?.trim() === '') lines.pop();
  if (lines.length < 2) throw new DataError(file, 'holds no examples (a header row, then one row per example)');
  const header = lines[0].split(',').map((h) => h.trim());
  const labelName = options.labelColumn === undefined ? 'label' : options.labelColumn;
  const labelAt = labelName === null ? -1 : header.indexOf(labelName);
  if (labelName !== null && labelAt < 0)
    throw new DataError(
      file,
      `has no '${labelName}' column (its header: ${header.slice(0, 4).join(',')}${header.length > 4 ? ',...' : ''})`,
    );
  const values = header.length - (labelAt >= 0 ? 1 : 0);
  const shape = options.shape ?? squareShape(values);
  if (!shape) throw new DataError(file, `rows hold ${values} values, not a square image: give the shape`);
  if (exampleSize({ shape }) !== values)
    throw new DataError(file, `rows hold ${values} values; [${shape.join(',')}] needs ${exampleSize({ shape })}`);
  const count = lines.length - 1;
  const floats = new Float32Array(count * values);
  const labels = new Uint16Array(count);
  let bytes = true;
  for (let n = 0; n < count; n++) {
    const cells = lines[n + 1].split(',');
    const where = `line ${n + 2}`;
    if (cells.length !== header.length)
      throw new DataError(file, `${where} has ${cells.length} columns, the header ${header.length}`);
    let k = 0;
    for (let c = 0; c < cells.length; c++) {
      const v = Number(cells[c]);
      if (cells[c].trim() === '' || !Number.isFinite(v))
        throw new DataError(file, `${where}, column '${header[c]}': '${cells[c]}' is not a number`);
      if (c === labelAt) {
        if (!Number.isInteger(v) || v < 0 || v > 65535)
          throw new DataError(file, `${where}: label '${cells[c]}' is not a class index`);
        if (options.classes !== undefined && v >= options.classes)
          throw new DataError(file, `${where}: label ${v} is out of range: the model gives ${options.classes} classes`);
        labels[n] = v;
        continue;
      }
      if (!(Number.isInteger(v) && v >= 0 && v <= 255)) bytes = false;
      floats[n * values + k++] = v;
    }
  }
  const images = bytes ? Uint8Array.from(floats) : floats;
  return { images, labels: labels as ClassLabels, count, shape };
}
