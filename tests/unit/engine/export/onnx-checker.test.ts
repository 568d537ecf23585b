/**
 * Independent validation of our writer: the official onnx package's checker (full_check) and
 * strict shape inference, when a Python with `onnx` is on the machine (Debian: python3-onnx).
 * Skipped otherwise, saying why.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../../src/main/engine/backend';
import { buildOnnx, type ExportSource } from '../../../../src/main/engine/export/onnx-export';
import { softLabelVariant, withFeatureOutput } from '../../../../src/main/engine/export/onnx-transform';
import { tinyAutoencoder, tinyCgan, tinyDcgan, tinyResnet, tinyUnet } from './models';

function findPython(): string | null {
  for (const py of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(py, ['-c', 'import onnx'], { stdio: 'ignore' });
      return py;
    } catch {
      // next
    }
  }
  return null;
}
const python = findPython();

const CHECK = `
import sys, onnx
from onnx import checker, shape_inference
for f in sys.argv[1:]:
    m = onnx.load(f)
    checker.check_model(m, full_check=True)
    shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
print("ok", len(sys.argv) - 1)
`;

describe.skipIf(!python)(`onnx.checker on exported files${python ? '' : ' (skipped: no Python with the onnx package; apt-get install python3-onnx)'}`, () => {
  beforeAll(async () => {
    await initBackend();
  });

  it('every kind, both transposed-conv modes, keep-dropout, soft-label and features variants pass full_check + strict shape inference', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-chk-'));
    const ae = tinyAutoencoder();
    const sources: ExportSource[] = [
      { kind: 'pix2pix', name: 'u', generator: tinyUnet(), imageSize: 16, channels: 3 },
      { kind: 'cyclegan', name: 'r', generator: tinyResnet(), imageSize: 16, channels: 3 },
      { kind: 'gan', name: 'g', generator: tinyDcgan(), imageSize: 16, channels: 3 },
      { kind: 'cgan', name: 'c', generator: tinyCgan(), imageSize: 16, channels: 1 },
      { kind: 'autoencoder', name: 'a', ...ae, imageSize: 16, channels: 1 },
    ];
    const files: string[] = [];
    const write = (name: string, bytes: Uint8Array) => {
      const f = path.join(dir, `${name}.onnx`);
      fs.writeFileSync(f, bytes);
      files.push(f);
    };
    for (const s of sources) {
      for (const mode of ['phase', 'native'] as const) for (const b of buildOnnx(s, { transposedConv: mode })) write(`${s.name}-${b.role}-${mode}`, b.bytes);
      const keep = buildOnnx(s, { dropout: 'keep' })[0]!.bytes;
      write(`${s.name}-keep`, keep);
      if (s.kind === 'cgan') write(`${s.name}-soft`, softLabelVariant(keep).bytes);
      const f = withFeatureOutput(buildOnnx(s).at(-1)!.bytes);
      if (f) write(`${s.name}-features`, f.bytes);
    }
    const out = execFileSync(python!, ['-c', CHECK, ...files], { encoding: 'utf8' });
    expect(out.trim()).toBe(`ok ${files.length}`);
    for (const s of sources) for (const m of [s.generator, s.encoder, s.decoder]) m?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
