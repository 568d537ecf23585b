/**
 * What a trained model can do, declared by its registry entry (engine/models/registry.ts) and
 * stored in bundle.json (and an export's sidecar). Inference, export, evaluation, the scoreboard
 * and the pages read these, never a model kind's name: a new kind that declares them works
 * everywhere with no other change.
 */
import { z } from 'zod';

/**
 * A model kind is a key of the engine's model registry (train.options lists them): the registry
 * is the one list, so a new model needs no contract change. The contract checks a kind's form
 * only; the engine refuses a well-formed unknown kind.
 */
export type ModelKindName = string;
export const modelKindSchema = z.string().min(1).max(64).regex(/^[a-z][a-z0-9-]*$/, 'model kinds are lower-case letters, digits and dashes');

export type Direction = 'AtoB' | 'BtoA';

/** What the dataset a model trains on must hold. */
export type DataNeed = 'images' | 'labelled' | 'paired' | 'unpaired';

export interface ModelCapabilities {
  /** What the training dataset must hold. */
  data: DataNeed;
  /**
   * Image -> image: each direction it translates and the network that serves it. A model with
   * one direction learned the way chosen at training (the bundle's preprocessing.direction).
   */
  translate?: Partial<Record<Direction, string>>;
  /** Images from a latent vector z [n, latent] (and a class per sample when `classes`). */
  generate?: { latent: number; network: string; classes?: { count: number; names?: string[] } };
  /** Image -> z -> image through an encoder and a decoder (reconstruction, image-to-image latent paths). */
  encode?: { latent: number; encoder: string; decoder: string };
  metrics: MetricsCapability;
}

/**
 * How evaluation measures the model:
 *   generated       samples vs real images (Fréchet distance of classifier features; per-class
 *                   accuracy when conditional)
 *   paired          outputs vs paired targets (L1, PSNR, SSIM)
 *   unpaired        domain transfer both ways, judged by a classifier
 *   reconstruction  inputs vs their reconstructions
 */
export type EvalSuite = 'generated' | 'paired' | 'unpaired' | 'reconstruction';

export interface MetricsCapability {
  suite: EvalSuite;
  /** The metric that ranks checkpoints: `name`, or the mean of the metrics in `of`. */
  key: { name: string; of?: string[]; higherIsBetter: boolean };
  /** 'transfer-collapse': the scoreboard flags outputs that stopped translating. */
  alarm?: 'transfer-collapse';
}

/** Image-to-image in any form: a translator, or an encoder-decoder (reconstruction); the Translate page. */
export const takesImages = (c: ModelCapabilities): boolean => !!(c.translate || c.encode);

/** Images from a latent vector (the Latent page). */
export const generatesImages = (c: ModelCapabilities): boolean => !!c.generate;

/** Translates both ways (the pages offer the direction). */
export const translatesBothWays = (c: ModelCapabilities): boolean => !!(c.translate?.AtoB && c.translate.BtoA);

/** Directions a model translates (empty when it does not). */
export const directionsOf = (c: ModelCapabilities): Direction[] => (c.translate ? (['AtoB', 'BtoA'] as const).filter((d) => c.translate![d]) : []);
