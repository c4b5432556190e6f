/**
 * The public API: what a model file imports (`import { Sequential, Conv2d } from
 * 'onnx-mnist-train'`). Layers named and shaped as in torch.nn; Module, Parameter and
 * StateBuffer to write a layer of one's own; `op`, the graph ops its forward emits with
 * (`op.conv(x, w, b, { strides })`, each with its gradient rule). Pure TypeScript: no Node
 * module, so the training page bundles model files too.
 */
export * from './model/layers/index.js';
export { type Context, type Init, LayerInputError, type Mode, Module, Parameter, StateBuffer, StateEntry } from './model/module.js';
export { Network, ModelError } from './model/network.js';
export { seedCnn, seedCnnModule } from './model/seed-cnn.js';
export type { Tensor } from './graph/builder.js';
export type { Shape } from './graph/shape.js';
export * as op from './graph/ops/index.js';
