/**
 * The seed CNN for colour images: the same network with three input channels (17,646
 * parameters), for a folder of RGB images per class, e.g. the coloured digits that
 * `scripts/write-dataset.ts --as rgb-tree` writes (docs/data.md):
 *
 *   npm run train -- --model examples/seed-cnn-rgb.ts --data <tree> --augment rotate+shift
 *
 * For another number of classes: seedCnnModule({ inChannels: 3, classes: N }).
 */
import { seedCnnModule } from 'onnx-mnist-train';

export default seedCnnModule({ inChannels: 3 });
export const inputShape = [3, 28, 28];
