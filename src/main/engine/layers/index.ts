/**
 * Custom layers (registered with tf.serialization on import, so saved models reload and the ONNX
 * exporter finds them by their stable class names).
 */
export { InstanceNormalization, instanceNormalization, instanceNorm, type InstanceNormalizationArgs } from './instance-norm';
export { ChromaToRgb, chromaToRgb, YCBCR_TO_RGB, type ChromaToRgbArgs } from './chroma-to-rgb';
export { ReflectionPadding2D, reflectionPadding2d, reflectionPad2d, type ReflectionPadding2DArgs } from './reflection-padding';
export { MinibatchStd, minibatchStd, type MinibatchStdArgs } from './minibatch-std';
export { TorchBatchNorm, torchBatchNorm, type TorchBatchNormArgs } from './torch-batch-norm';
export { installLazyConvGradients, lazyConvGradOptions } from './lazy-conv-grads';

import { installLazyConvGradients } from './lazy-conv-grads';
// Every network is built from these modules: install with them (see lazy-conv-grads.ts).
installLazyConvGradients();
