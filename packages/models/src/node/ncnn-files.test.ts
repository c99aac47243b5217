// ncnn models where users meet them in Node: loadModelFile('x.param') and the store's import,
// both converting in a worker and finding the .bin beside the .param.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BadCheckpointError, ModelNotFoundError, createRegistry, type SuperresError } from '@superres/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertNcnn } from '../ncnn/convert.js';
import { runOnnx, tinySrvggNcnn } from '../ncnn/test-support/tiny-ncnn.js';
import { loadModelFile } from './load-model-file.js';
import { loadCatalogModel } from './load-catalog-model.js';
import { ncnnBinPath } from './ncnn-files.js';
import { createModelStore } from './store/store.js';

let dir: string;
let param: string;
const tiny = tinySrvggNcnn(2);
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'superres-ncnn-'));
  param = join(dir, 'tiny-x2.param');
  await writeFile(param, tiny.param);
  await writeFile(join(dir, 'tiny-x2.bin'), tiny.bin);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function thrown(promise: Promise<unknown>): Promise<SuperresError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as SuperresError,
  );
}

describe('ncnnBinPath', () => {
  it('puts .bin for .param, whatever the case', () => {
    expect(ncnnBinPath('/m/x.param')).toBe('/m/x.bin');
    expect(ncnnBinPath('/m/x.PARAM')).toBe('/m/x.bin');
    expect(ncnnBinPath('/m/x')).toBe('/m/x.bin');
  });
});

describe('loadModelFile with an ncnn .param', () => {
  it('converts in a worker and runs like the in-thread conversion', async () => {
    const model = await loadModelFile(param, { threads: 1 });
    try {
      expect(model).toMatchObject({ id: 'tiny-x2', scale: 2, alignment: 1, receptiveRadius: 2 });
      const input = Float32Array.from({ length: 3 * 5 * 4 }, (_, i) => (i % 7) / 7);
      const out = await model.run({ data: input.slice(), dims: [1, 3, 5, 4] });
      const expected = await runOnnx(convertNcnn(tiny.param, tiny.bin).onnx, input, [1, 3, 5, 4]);
      expect(out.dims).toEqual([1, 3, 10, 8]);
      expect(Array.from(out.data)).toEqual(Array.from(expected.data));
    } finally {
      await model.release();
    }
  });

  it('names the .bin it looked for when it is missing', async () => {
    const lonely = join(dir, 'lonely.param');
    await writeFile(lonely, tiny.param);
    const error = await thrown(loadModelFile(lonely));
    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect(error.message).toBe(`ncnn model ${lonely} needs its weights beside it: ${join(dir, 'lonely.bin')} was not found`);
    expect(error.details).toMatchObject({ path: join(dir, 'lonely.bin') });
  });

  it('says what is wrong with a .param that is not one, before looking for a .bin', async () => {
    const wrong = join(dir, 'wrong.param');
    await writeFile(wrong, 'hello\n');
    const error = await thrown(loadModelFile(wrong));
    expect(error).toBeInstanceOf(BadCheckpointError);
    expect(error.message).toMatch(/^ncnn \.param line 1: wrong magic "hello"/);
  });

  it('reports a damaged .bin from the worker as a typed error', async () => {
    const broken = join(dir, 'broken.param');
    await writeFile(broken, tiny.param);
    await writeFile(join(dir, 'broken.bin'), tiny.bin.subarray(0, 100));
    const error = await thrown(loadModelFile(broken));
    expect(error).toBeInstanceOf(BadCheckpointError);
    expect(error.message).toMatch(/^ncnn \.bin: Convolution layer "conv0" \(\.param line 5\) weight_data needs 108 float16 values/);
  });
});

describe('importing an ncnn model into the store', () => {
  it('stores the converted ONNX graph with the geometry from the layers', async () => {
    const store = createModelStore({ dir: join(dir, 'models'), registry: createRegistry(), env: {} });
    const record = await store.import(param, { id: 'my-ncnn' });
    expect(record).toMatchObject({
      id: 'my-ncnn',
      file: 'my-ncnn.onnx',
      format: 'onnx',
      architecture: 'ncnn',
      kind: 'upscaler',
      scale: 2,
      alignment: 1,
      receptiveRadius: 2,
      source: param,
      hyperparameters: { inputChannels: 3, outputChannels: 3, bin: join(dir, 'tiny-x2.bin') },
    });
    const stored = new Uint8Array(await readFile(join(dir, 'models', 'my-ncnn.onnx')));
    expect(stored[0]).toBe(0x08); // an ONNX ModelProto
    expect(record.bytes).toBe(stored.length);
    expect((await store.verify('my-ncnn'))[0]!.status).toBe('ok');
    const model = await loadCatalogModel('my-ncnn', { store, threads: 1 });
    try {
      expect(model).toMatchObject({ scale: 2, receptiveRadius: 2 });
      const out = await model.run({ data: new Float32Array(3 * 4 * 4), dims: [1, 3, 4, 4] });
      expect(out.dims).toEqual([1, 3, 8, 8]);
    } finally {
      await model.release();
    }
    const lonely = join(dir, 'alone.param');
    await writeFile(lonely, tiny.param);
    expect(await thrown(store.import(lonely, { id: 'alone' }))).toBeInstanceOf(ModelNotFoundError);
    expect(await store.has('alone')).toBe(false);
  });
});
