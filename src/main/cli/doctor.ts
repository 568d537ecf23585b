import { parseArgs } from './args';
import { doctorReport } from '../engine/core/doctor';
import { defaultWorkspaceRoot } from '../engine/core/workspace';
import { gpuEpFor, resolveEp } from '../engine/export/providers';
import { withMemoryCheck } from '../engine/gpu/memory';
import { poolRule } from '../engine/kernels/gemm-pool';

export async function runDoctorCli(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['json']);
  const r = withMemoryCheck(await doctorReport({ workspace: defaultWorkspaceRoot(), mode: 'in-process' }));
  if (args.flags.json) {
    console.log(JSON.stringify(r));
    return 0;
  }
  const ok = (b: boolean) => (b ? 'yes' : 'no ');
  console.log(`Atelier ${r.appVersion} on Node ${r.node} (${r.platform}/${r.arch}, ${r.cpus} cpus)`);
  console.log(`backend        ${r.backend}  (${r.backendReason})`);
  for (const c of r.backendsConsidered) console.log(`  ${c.chosen ? '*' : '-'} ${c.backend.padEnd(7)} ${c.reason}`);
  const a = r.webgpu.adapter;
  console.log(
    `webgpu         ${
      a
        ? `${a.vendor} ${a.architecture}${a.description ? ` (${a.description})` : ''}${a.isFallbackAdapter ? ', software fallback adapter' : ', hardware adapter'}; max buffer ${(a.limits.maxBufferSize / 2 ** 20).toFixed(0)} MiB, storage binding ${(a.limits.maxStorageBufferBindingSize / 2 ** 20).toFixed(0)} MiB`
        : `no adapter: ${r.webgpu.error ?? 'unknown'}`
    }`,
  );
  if (r.webgpu.memoryCheck) console.log(`gpu memory     ${r.webgpu.memoryCheck}`);
  console.log(`threads        ${r.threads} (ATELIER_WASM_THREADS=n sets it; ${poolRule()})`);
  console.log(`own kernels    ${r.customKernels.length ? r.customKernels.join(', ') : '(none)'}`);
  console.log(`tfjs           ${r.tfjsVersion}`);
  console.log(`tfjs-node      ${ok(r.tfjsNode.present)} ${r.tfjsNode.version ?? r.tfjsNode.error ?? ''}`);
  console.log(`onnxruntime    ${ok(r.onnxruntime.present)} ${r.onnxruntime.version ?? r.onnxruntime.error ?? ''}${r.onnxruntime.providers ? `; providers ${r.onnxruntime.providers.join(', ')} (--ep; a GPU one behind a parity gate); --ep auto here: ${await autoEp(r.onnxruntime.providers)}` : ''}`);
  console.log(`sharp          ${ok(r.sharp.present)} ${r.sharp.version ?? r.sharp.error ?? ''}${r.sharp.libvips ? ` (libvips ${r.sharp.libvips})` : ''}`);
  console.log(`electron       ${ok(r.electron.binary)} ${r.electron.path ?? r.electron.reason}`);
  console.log(`workspace      ${r.workspace}`);
  return 0;
}

/** The provider `--ep auto` picks on this machine, and why not the GPU one when it is cpu. */
async function autoEp(providers: string[]): Promise<string> {
  const gpu = gpuEpFor();
  const ep = await resolveEp('auto').catch(() => 'cpu');
  if (ep !== 'cpu') return ep;
  return !providers.includes(gpu) ? `cpu (no ${gpu} provider in this platform's onnxruntime)` : `cpu (${gpu} needs a hardware adapter here)`;
}
