/** Network builders: pure functions from options to tf.LayersModels (shapes in each file's doc). */
export * from './common';
export { unetGenerator, unetOutput, type UnetOptions } from './unet';
export { colorizerGenerator, type ColorizerOptions } from './colorizer';
export { resnetGenerator, defaultResnetBlocks, type ResnetOptions } from './resnet';
export { patchGanDiscriminator, pixelDiscriminator, defaultPatchLayers, patchReceptiveField, type PatchGanOptions, type PixelDOptions } from './discriminators';
export { dcganGenerator, dcganDiscriminator, type DcganOptions } from './dcgan';
export { autoencoderNetworks, type AutoencoderOptions } from './autoencoder';
export { serializeModel, deserializeModel, saveModelToDir, loadModelFromDir } from './io';
