/**
 * Save / load a tf.LayersModel to a folder in the standard tfjs layers format:
 *   <dir>/model.json   {format: 'layers-model', modelTopology, weightsManifest: [{paths, weights}]}
 *   <dir>/weights.bin  all weights, float32, in manifest order
 * (No tfjs-node here, so no file:// handler: we use the memory handlers and write the files.)
 * Custom layers (InstanceNormalization, ReflectionPadding2D) are registered by importing ../layers.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { tf } from '../backend';
import '../layers';

export interface SavedModelFiles {
  modelJson: Record<string, unknown>;
  weights: Uint8Array;
}

function joinWeightData(w: tf.io.WeightData | undefined): Uint8Array {
  if (!w) return new Uint8Array(0);
  if (Array.isArray(w)) {
    const total = w.reduce((n, b) => n + b.byteLength, 0);
    const out = new Uint8Array(total);
    let off = 0;
    for (const b of w) {
      out.set(new Uint8Array(b), off);
      off += b.byteLength;
    }
    return out;
  }
  return new Uint8Array(w.slice(0));
}

/** Serialise a model to {model.json object, weight bytes} in memory. */
export async function serializeModel(model: tf.LayersModel): Promise<SavedModelFiles> {
  let artifacts: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const a = artifacts as unknown as tf.io.ModelArtifacts;
  return {
    modelJson: {
      format: 'layers-model',
      generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
      convertedBy: null,
      modelTopology: a.modelTopology,
      weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs ?? [] }],
    },
    weights: joinWeightData(a.weightData),
  };
}

export async function deserializeModel(files: SavedModelFiles): Promise<tf.LayersModel> {
  const manifest = files.modelJson.weightsManifest as Array<{ weights: tf.io.WeightsManifestEntry[] }>;
  const buf = files.weights.buffer.slice(files.weights.byteOffset, files.weights.byteOffset + files.weights.byteLength) as ArrayBuffer;
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: files.modelJson.modelTopology as tf.io.ModelArtifacts['modelTopology'],
      weightSpecs: manifest.flatMap((m) => m.weights),
      weightData: buf,
    }),
  );
}

/** Write model.json + weights.bin into `dir` (the caller makes `dir` atomic, e.g. a temp folder). */
export async function saveModelToDir(model: tf.LayersModel, dir: string): Promise<void> {
  const files = await serializeModel(model);
  await fsp.mkdir(dir, { recursive: true });
  await fsp.writeFile(path.join(dir, 'weights.bin'), files.weights);
  await fsp.writeFile(path.join(dir, 'model.json'), JSON.stringify(files.modelJson));
}

export async function loadModelFromDir(dir: string): Promise<tf.LayersModel> {
  const modelJson = JSON.parse(await fsp.readFile(path.join(dir, 'model.json'), 'utf8')) as Record<string, unknown>;
  const weights = new Uint8Array(await fsp.readFile(path.join(dir, 'weights.bin')));
  return deserializeModel({ modelJson, weights });
}
