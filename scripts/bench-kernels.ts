// Timings of the wasm kernels (stock vs ours) at pix2pix-like shapes.
// Usage: npx tsx scripts/bench-kernels.ts [sizes=64,128,256] [reps=3] [adam-only]
import { benchAdam, benchKernels } from '../src/main/engine/kernels/bench';

const sizes = (process.argv[2] ?? '64,128,256').split(',').map(Number);
const reps = Number(process.argv[3] ?? 3);
if (process.argv[4] !== 'adam-only') await benchKernels({ sizes, reps });
for (const size of sizes) await benchAdam({ size, reps });
