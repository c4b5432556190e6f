/** A data set in memory: what training and evaluation read, wherever it was loaded (Node or a page). */

export interface Split {
  /** Row-major uint8 pixels, count x rows x cols. */
  images: Uint8Array;
  /** Class indices 0-9. */
  labels: Uint8Array;
  count: number;
  rows: number;
  cols: number;
}

export interface Dataset {
  dir: string;
  train: Split;
  test: Split;
}

export const CLASSES = 10;
