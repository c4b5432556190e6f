/**
 * The exported model's interface, in a module with no dependencies so that the browser demo
 * imports the names without the graph builder: input `image` float32 [N,1,28,28] with pixels
 * in [0,1]; outputs `logits` and `probabilities` [N,10].
 */
export const INPUT = 'image';
export const LOGITS = 'logits';
export const PROBABILITIES = 'probabilities';
