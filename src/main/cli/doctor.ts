import { parseArgs } from './args';
import { doctorReport } from '../engine/core/doctor';
import { defaultWorkspaceRoot } from '../engine/core/workspace';

export async function runDoctorCli(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['json']);
  const r = await doctorReport({ workspace: defaultWorkspaceRoot(), mode: 'in-process' });
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
  console.log(`threads        ${r.threads} (ATELIER_WASM_THREADS=n sets it; the products drop to one thread while the second core is busy, ATELIER_POOL_ADAPT=0 keeps two)`);
  console.log(`own kernels    ${r.customKernels.length ? r.customKernels.join(', ') : '(none)'}`);
  console.log(`tfjs           ${r.tfjsVersion}`);
  console.log(`tfjs-node      ${ok(r.tfjsNode.present)} ${r.tfjsNode.version ?? r.tfjsNode.error ?? ''}`);
  console.log(`onnxruntime    ${ok(r.onnxruntime.present)} ${r.onnxruntime.version ?? r.onnxruntime.error ?? ''}${r.onnxruntime.providers ? `; providers ${r.onnxruntime.providers.join(', ')} (--ep; a GPU one behind a parity gate)` : ''}`);
  console.log(`sharp          ${ok(r.sharp.present)} ${r.sharp.version ?? r.sharp.error ?? ''}${r.sharp.libvips ? ` (libvips ${r.sharp.libvips})` : ''}`);
  console.log(`electron       ${ok(r.electron.binary)} ${r.electron.path ?? r.electron.reason}`);
  console.log(`workspace      ${r.workspace}`);
  return 0;
}
