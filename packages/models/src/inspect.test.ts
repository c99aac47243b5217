import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BadCheckpointError, UnsafeCheckpointError, isSuperresError } from '@superres/core';
import { CONVERTER_VERSION } from './onnx/version.js';
import { describe, expect, it } from 'vitest';
import { fixture, needsFixture } from '../../../test-support/fixtures.js';
import { buildSrvggOnnx } from './architectures/srvgg.js';
import { readCheckpoint } from './checkpoint/read-checkpoint.js';
import { writeSafetensors } from './checkpoint/test-support/safetensors-writer.js';
import { inspectModel } from './inspect.js';
import { pluginFromCheckpoint } from './plugins/file-plugin.js';

const checkpoints = fileURLToPath(new URL('../test/fixtures/checkpoints/', import.meta.url));
const local = (name: string): Uint8Array => new Uint8Array(readFileSync(checkpoints + name));

/** SRVGGNetCompact, 8 features, one body conv, x4, PReLU: the smallest real layout. */
function tinySrvgg(): [string, { shape: number[]; data: Float32Array }][] {
  const t = (...shape: number[]) => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.01) });
  return [
    ['body.0.weight', t(8, 3, 3, 3)], ['body.0.bias', t(8)], ['body.1.weight', t(8)],
    ['body.2.weight', t(8, 8, 3, 3)], ['body.2.bias', t(8)], ['body.3.weight', t(8)],
    ['body.4.weight', t(48, 8, 3, 3)], ['body.4.bias', t(48)],
  ];
}

describe('inspectModel', () => {
  it('recognises an architecture in a safetensors file', () => {
    const inspection = inspectModel(writeSafetensors(tinySrvgg(), { format: 'pt' }));
    expect(inspection).toMatchObject({
      format: 'safetensors',
      architecture: 'SRVGGNetCompact',
      hyperparameters: { numInCh: 3, numOutCh: 3, numFeat: 8, numConv: 1, upscale: 4, activation: 'prelu' },
      scale: 4,
      receptiveRadius: 3,
      parameterCount: 216 + 8 + 8 + 576 + 8 + 8 + 3456 + 48,
    });
    expect(inspection.error).toBeUndefined();
    expect(inspection.tensors[0]).toEqual({ name: 'body.0.weight', dtype: 'float32', shape: [8, 3, 3, 3] });
    expect(inspection.tensors).toHaveLength(8);
  });

  it('lists the tensors of an unrecognised state dict, with the reason', () => {
    const inspection = inspectModel(local('nested-params-ema.pth'));
    expect(inspection.format).toBe('pytorch-zip');
    expect(inspection.nestedKey).toBe('params_ema');
    expect(inspection.architecture).toBeUndefined();
    expect(inspection.error).toMatch(/No known architecture matches.*Closest: /);
    expect(inspection.tensors.map((t) => t.name)).toEqual([...readCheckpoint(local('nested-params-ema.pth')).stateDict.keys()]);
    expect(inspection.tensors.find((t) => t.name === 'i64')).toEqual({ name: 'i64', dtype: 'int64', shape: [4] });
    expect(inspection.tensors.find((t) => t.name === 'scalar')).toEqual({ name: 'scalar', dtype: 'float32', shape: [] });
  });

  it('reports broken shapes of a known layout as the error, tensors listed', () => {
    const inspection = inspectModel(local('srvgg-wrong-shapes.pth'));
    expect(inspection.error).toMatch(/SRVGGNetCompact/);
    expect(inspection.tensors).toHaveLength(8);
  });

  it('reads legacy checkpoints', () => {
    const inspection = inspectModel(local('legacy.pth'));
    expect(inspection.format).toBe('pytorch-legacy');
    expect(inspection.tensors.map((t) => t.name)).toEqual([
      '0.weight', '0.bias', '1.weight', '2.weight', '2.bias', '2.running_mean', '2.running_var', '2.num_batches_tracked',
    ]);
  });

  it('reads ONNX graphs superres converted, with their metadata', () => {
    const { onnx } = buildSrvggOnnx(readCheckpoint(writeSafetensors(tinySrvgg())).stateDict);
    const inspection = inspectModel(onnx);
    expect(inspection).toMatchObject({
      format: 'onnx',
      architecture: 'SRVGGNetCompact',
      hyperparameters: { numFeat: 8, numConv: 1, upscale: 4 },
      scale: 4,
      receptiveRadius: 3,
      onnx: { producer: `superres ${CONVERTER_VERSION}`, opsets: [{ domain: '', version: 17 }] },
    });
    expect(inspection.onnx?.inputs[0]?.dims).toHaveLength(4);
    expect(inspection.parameterCount).toBeGreaterThanOrEqual(4328);
  });

  it('throws typed errors for what it cannot read', () => {
    expect(() => inspectModel(new Uint8Array(0))).toThrow(/empty/);
    expect(() => inspectModel(new TextEncoder().encode('hello'))).toThrow(BadCheckpointError);
    expect(() => inspectModel(local('pwned.pth'))).toThrow(UnsafeCheckpointError);
    expect(() => inspectModel(local('no-state-dict.pth'))).toThrow(/state dict/);
    expect(() => inspectModel(Uint8Array.of(0x08, 0x07, 0x3a, 0x7f))).toThrow(BadCheckpointError);
  });
});

describe('inspectModel on damaged files', () => {
  it('answers with a result or a typed error, never a crash', () => {
    let seed = 12345;
    const random = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    const { onnx } = buildSrvggOnnx(readCheckpoint(writeSafetensors(tinySrvgg())).stateDict);
    const files = [local('legacy-typed.pth'), local('legacy-protocol4.pth'), local('typed.safetensors'), local('nested-params-ema.pth'), onnx];
    const crashes: string[] = [];
    for (let i = 0; i < 2500; i++) {
      const bytes = files[i % files.length]!.slice();
      for (let k = 1 + random(8); k > 0; k--) bytes[random(bytes.length)] = random(256);
      try {
        inspectModel(i % 3 === 0 ? bytes.subarray(0, random(bytes.length)) : bytes);
      } catch (error) {
        if (!isSuperresError(error)) crashes.push(`case ${i}: ${String(error)}`);
      }
    }
    expect(crashes).toEqual([]);
  });
});

describe('pluginFromCheckpoint accepts every checkpoint format', () => {
  it('builds a plugin from safetensors', () => {
    const plugin = pluginFromCheckpoint('tiny', writeSafetensors(tinySrvgg()));
    expect(plugin.info).toMatchObject({ format: 'safetensors', architecture: 'SRVGGNetCompact' });
    expect(plugin.scale).toBe(4);
  });

  it('points ONNX files at pluginFromOnnx and refuses the rest by name', () => {
    const { onnx } = buildSrvggOnnx(readCheckpoint(writeSafetensors(tinySrvgg())).stateDict);
    expect(() => pluginFromCheckpoint('x', onnx)).toThrow(/pluginFromOnnx/);
    expect(() => pluginFromCheckpoint('x', new TextEncoder().encode('hello'))).toThrow(/Not a model file/);
  });
});

const retinaFace = needsFixture('official RetinaFace weights: legacy format, a face detector', 'weights', 'detection_mobilenet0.25_Final.pth');

describe.skipIf(retinaFace.missing)(retinaFace.title, () => {
  it('lists its 300 tensors and names it RetinaFace MobileNet-0.25, a face detector without upscaler geometry', () => {
    const bytes = new Uint8Array(readFileSync(fixture('weights', 'detection_mobilenet0.25_Final.pth')));
    const inspection = inspectModel(bytes);
    expect(inspection.format).toBe('pytorch-legacy');
    expect(inspection.tensors).toHaveLength(300);
    expect(inspection).toMatchObject({ architecture: 'RetinaFace', kind: 'face-detector', hyperparameters: { backbone: 'mobilenet0.25', outChannel: 64 } });
    expect(inspection.scale).toBeUndefined();
    expect(inspection.error).toBeUndefined();
    // sum(v.numel() for v in sd.values()) with torch 1.13: 433296 float32 + 47 int64 scalars.
    expect(inspection.parameterCount).toBe(433343);
    expect(inspection.tensors[0]).toEqual({ name: 'body.stage1.0.0.weight', dtype: 'float32', shape: [8, 3, 3, 3] });
    expect(pluginFromCheckpoint('retinaface', bytes).kind).toBe('face-detector');
  });
});

const anime = needsFixture('official realesr-animevideov3.pth', 'weights', 'realesr-animevideov3.pth');

describe.skipIf(anime.missing)(anime.title, () => {
  it('is SRVGGNetCompact x4 with 53 tensors', () => {
    const inspection = inspectModel(new Uint8Array(readFileSync(fixture('weights', 'realesr-animevideov3.pth'))));
    expect(inspection).toMatchObject({
      format: 'pytorch-zip',
      nestedKey: 'params',
      architecture: 'SRVGGNetCompact',
      hyperparameters: { numFeat: 64, numConv: 16, upscale: 4, activation: 'prelu' },
      scale: 4,
      parameterCount: 621424, // sum(v.numel() for v in sd['params'].values()), torch 1.13
    });
    expect(inspection.tensors).toHaveLength(53);
  });
});
