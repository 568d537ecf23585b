import { describe, expect, it } from 'vitest';
import { PbWriter, readFields, fieldInt, fieldInts, fieldFloats, fieldString } from '../../../../src/main/engine/export/protobuf';
import { decodeModel, encodeModel, floatTensor, int64Tensor, tensorFloats, type OnnxModel } from '../../../../src/main/engine/export/onnx-proto';

describe('protobuf wire format', () => {
  it('encodes varints like the spec (150 -> 96 01, field 1)', () => {
    expect(Array.from(new PbWriter().int(1, 150).finish())).toEqual([0x08, 0x96, 0x01]);
    expect(Array.from(new PbWriter().string(2, 'testing').finish())).toEqual([0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67]);
  });

  it('round-trips negative int64 (10 bytes), large values, packed ints and floats', () => {
    const w = new PbWriter().int(3, -1).int(4, 2 ** 40 + 3).packedInts(5, [0, -2, 300]).packedFloats(6, [1.5, -0.25]).string(7, 'é');
    const f = readFields(w.finish());
    expect(fieldInt(f[0]!)).toBe(-1);
    expect(fieldInt(f[1]!)).toBe(2 ** 40 + 3);
    expect(fieldInts(f[2]!)).toEqual([0, -2, 300]);
    expect(fieldFloats(f[3]!)).toEqual([1.5, -0.25]);
    expect(fieldString(f[4]!)).toBe('é');
  });

  it('ModelProto round trip keeps names, attributes of every type, dims with dim_param, tensors, metadata', () => {
    const m: OnnxModel = {
      irVersion: 8,
      opsets: [{ domain: '', version: 17 }],
      producerName: 'atelier',
      producerVersion: '0.1.0',
      graph: {
        name: 'g',
        nodes: [
          {
            opType: 'Foo',
            name: 'n0',
            inputs: ['x', '', 'w'],
            outputs: ['y'],
            attributes: {
              a: { type: 'int', i: -1 },
              b: { type: 'float', f: 0.5 },
              c: { type: 'string', s: 'reflect' },
              d: { type: 'ints', ints: [1, -2] },
              e: { type: 'floats', floats: [0.25] },
              f: { type: 'strings', strings: ['p', 'q'] },
            },
          },
        ],
        initializers: [floatTensor('w', [2, 2], [1, 2, 3, 4]), int64Tensor('s', [2], [-1, 7])],
        inputs: [{ name: 'x', elemType: 1, shape: ['batch', 3, 8, 8] }],
        outputs: [{ name: 'y', elemType: 1, shape: ['batch', 3] }],
      },
      metadata: { 'Image.NominalPixelRange': 'Normalized_1_1', k: 'v' },
    };
    const back = decodeModel(encodeModel(m));
    expect(back.opsets).toEqual(m.opsets);
    expect(back.graph.nodes[0]).toEqual(m.graph.nodes[0]);
    expect(back.graph.inputs).toEqual(m.graph.inputs);
    expect(back.graph.outputs).toEqual(m.graph.outputs);
    expect(back.metadata).toEqual(m.metadata);
    expect(Array.from(tensorFloats(back.graph.initializers[0]!))).toEqual([1, 2, 3, 4]);
    expect(Array.from(new BigInt64Array(back.graph.initializers[1]!.raw!.slice().buffer))).toEqual([-1n, 7n]);
  });
});
