// Timings of the wasm kernels (stock vs ours) at pix2pix-like shapes.
// Usage: npx tsx scripts/bench-kernels.ts [sizes=64,128,256] [reps=3]
import { benchKernels } from '../src/main/engine/kernels/bench';

const sizes = (process.argv[2] ?? '64,128,256').split(',').map(Number);
const reps = Number(process.argv[3] ?? 3);
await benchKernels({ sizes, reps });
