/** The seed's input normalisation: pixels in [0,1], then (x - 0.1307) / 0.3081. */
export const MNIST_MEAN = 0.1307;
export const MNIST_STD = 0.3081;

/** Lookup table byte -> normalised float, so batches are built without arithmetic per pixel. */
export const NORMALIZED_BYTE = Float32Array.from({ length: 256 }, (_, v) => (v / 255 - MNIST_MEAN) / MNIST_STD);
