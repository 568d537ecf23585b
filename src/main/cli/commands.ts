/** Commands contributed by the engine's areas. One line each; the module loads on demand. */
import { registerCommand } from './index';

registerCommand('dataset', { summary: 'dataset validate|import|list|delete|demo   check, import and list datasets (atelier dataset help)', run: async (a) => (await import('./dataset')).runDatasetCli(a) });
registerCommand('bench', { summary: 'bench [--quick] [--only s1,s2]          speed and memory figures, PyTorch peer ratios; writes bench/results.json', run: async (a) => (await import('./bench')).runBenchCli(a) });

