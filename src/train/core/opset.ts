/**
 * The opset of the graphs ORT runs for training and evaluation: 18 is the first where
 * ReduceMean/ReduceMax take `axes` as an input (ReduceSum rejects the attribute there).
 */
export const OPSET = 18;
