/** Commands contributed by the engine's areas. One line each; the module loads on demand. */
import { registerCommand } from './index';

registerCommand('dataset', { summary: 'dataset validate|import|list|delete|demo   check, import and list datasets (atelier dataset help)', run: async (a) => (await import('./dataset')).runDatasetCli(a) });
registerCommand('bench', { summary: 'bench [--quick] [--only s1,s2]          speed and memory figures, PyTorch peer ratios; writes bench/results.json', run: async (a) => (await import('./bench')).runBenchCli(a) });
registerCommand('translate', { summary: 'translate --model B <in> <out>          translate an image or a folder (PNG out, names kept)', run: async (a) => (await import('./translate')).runTranslateCli(a) });
registerCommand('generate', { summary: 'generate --model B [--label L] [--seed S] [--count N] --out DIR   images from a gan/cgan', run: async (a) => (await import('./generate')).runGenerateCli(a) });
registerCommand('export', { summary: 'export --model B [--onnx FILE] [--json]  ONNX export with the parity figure', run: async (a) => (await import('./export')).runExportCli(a) });
registerCommand('latent', { summary: 'latent interpolate|directions --model B ...   latent strips and PCA directions', run: async (a) => (await import('./latent')).runLatentCli(a) });
registerCommand('train', { summary: 'train --model M --data D [--size S] [--steps N|--epochs N] [--out DIR] [--resume RUN] [--option k=v ...]   train a model (JSON summary)', run: async (a) => (await import('./train')).runTrainCli(a) });
registerCommand('analyze', { summary: 'analyze pca|kmeans|hierarchical --input FILE|--dataset NAME [--k K] [--linkage L] [--metric M] [--json]', run: async (a) => (await import('./analyze')).runAnalyzeCli(a) });
registerCommand('eval', { summary: 'eval --model B --data D [--split test] [--json]   metrics for the model kind (conditional accuracy, FD-FashionCNN, SSIM, transfer rate, MSE vs PCA)', run: async (a) => (await import('./eval')).runEvalCli(a) });
registerCommand('import', { summary: 'import pytorch FILE.pth... [--netG N] [--norm N] [--ngf N] [--name N] [--mode eval|train] [--json]   reference checkpoints -> a bundle (safe reader, ONNX parity)', run: async (a) => (await import('./import')).runImportCli(a) });
registerCommand('inspect', { summary: 'inspect FILE.png [--json]               the provenance Atelier wrote into a PNG (model, weights hash, input, settings)', run: async (a) => (await import('./inspect')).runInspectCli(a) });
