/**
 * An export replaces only files an export wrote: pointed at `package.onnx` it must not overwrite a
 * foreign `package.json`, nor a foreign .onnx; its own earlier output it may replace.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assertExportTargetsReplaceable, PRODUCER } from '../../../../src/main/engine/export/onnx-export';
import { encodeModel } from '../../../../src/main/engine/export/onnx-proto';

const dir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-export-targets-'));
const onnxBy = (producerName: string) =>
  encodeModel({ irVersion: 8, opsets: [{ domain: '', version: 17 }], producerName, producerVersion: '1', graph: { name: 'g', nodes: [], initializers: [], inputs: [], outputs: [] }, metadata: {} });

describe('export targets', () => {
  it('writes where nothing exists yet', async () => {
    await expect(assertExportTargetsReplaceable(path.join(dir(), 'model.onnx'))).resolves.toBeUndefined();
  });

  it('refuses to replace a foreign <x>.json beside <x>.onnx (package.onnx -> package.json) and leaves it as it was', async () => {
    const d = dir();
    const pkg = path.join(d, 'package.json');
    fs.writeFileSync(pkg, '{"name":"someone-elses"}');
    await expect(assertExportTargetsReplaceable(path.join(d, 'package.onnx'))).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('package.json') });
    expect(fs.readFileSync(pkg, 'utf8')).toBe('{"name":"someone-elses"}');
    fs.writeFileSync(pkg, 'not json at all');
    await expect(assertExportTargetsReplaceable(path.join(d, 'package.onnx'))).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('refuses to replace an .onnx another tool produced, or a file that is not ONNX', async () => {
    const d = dir();
    fs.writeFileSync(path.join(d, 'theirs.onnx'), onnxBy('pytorch'));
    await expect(assertExportTargetsReplaceable(path.join(d, 'theirs.onnx'))).rejects.toMatchObject({ code: 'CONFLICT' });
    fs.writeFileSync(path.join(d, 'notes.onnx'), 'plain text');
    await expect(assertExportTargetsReplaceable(path.join(d, 'notes.onnx'))).rejects.toMatchObject({ code: 'CONFLICT' });
    // The autoencoder's extra files count too.
    fs.writeFileSync(path.join(d, 'ae.encoder.onnx'), 'plain text');
    await expect(assertExportTargetsReplaceable(path.join(d, 'ae.onnx'))).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('ae.encoder.onnx') });
  });

  it("replaces an earlier export's own files", async () => {
    const d = dir();
    fs.writeFileSync(path.join(d, 'model.onnx'), onnxBy(PRODUCER));
    fs.writeFileSync(path.join(d, 'model.json'), JSON.stringify({ format: 'atelier-onnx', version: 1 }));
    await expect(assertExportTargetsReplaceable(path.join(d, 'model.onnx'))).resolves.toBeUndefined();
  });
});
