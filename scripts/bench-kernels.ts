// Timings of the wasm kernels (stock vs ours) at pix2pix-like shapes.
// Usage: npx tsx scripts/bench-kernels.ts [sizes=64,128,256] [reps=3] [adam-only|with-cpu]
// with-cpu also times the cpu backend's Conv2DBackpropFilter at 64 px (slow: ~30 s).
import { benchAdam, benchKernels } from '../src/main/engine/kernels/bench';

const sizes = (process.argv[2] ?? '64,128,256').split(',').map(Number);
const reps = Number(process.argv[3] ?? 3);
if (process.argv[4] !== 'adam-only') await benchKernels({ sizes, reps, cpuUpTo: process.argv[4] === 'with-cpu' ? 64 : 0, generatorUpTo: 256 });
for (const size of sizes) await benchAdam({ size, reps });
