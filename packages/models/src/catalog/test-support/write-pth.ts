// Test helper: a float32 state dict as a torch.save zip checkpoint ({'params': OrderedDict}).
import type { StateDict, TensorEntry } from '../../checkpoint/types.js';
import { PickleWriter } from '../../checkpoint/test-support/pickle-writer.js';
import { writeZip, type ZipInput } from '../../checkpoint/test-support/zip-writer.js';

export function stateDictToPth(stateDict: StateDict): Uint8Array {
  const w = new PickleWriter().proto(2).op('}').str('params').global('collections', 'OrderedDict').op(')').reduce().mark();
  const storages: ZipInput[] = [];
  let key = 0;
  for (const [name, tensor] of stateDict) {
    const numel = tensor.data.length;
    const stride = tensor.shape.map((_, i) => tensor.shape.slice(i + 1).reduce((a, b) => a * b, 1));
    w.str(name).tensor('FloatStorage', String(key), numel, 0, tensor.shape, stride);
    const data = Float32Array.from(tensor.data as Float32Array);
    storages.push({ name: `archive/data/${key}`, data: new Uint8Array(data.buffer) });
    key++;
  }
  const pickle = w.op('u').op('s').stop().bytes();
  return writeZip([{ name: 'archive/data.pkl', data: pickle }, ...storages, { name: 'archive/version', data: '3\n' }]);
}

/** A deterministic pseudo-random tiny SRVGGNetCompact (PReLU) state dict. */
export function tinySrvgg(scale: number, seed = 1, feat = 4, numConv = 1): StateDict {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 0.2;
  };
  const tensor = (...shape: number[]): TensorEntry => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = next();
    return { dtype: 'float32', shape, data };
  };
  const sd: StateDict = new Map();
  sd.set('body.0.weight', tensor(feat, 3, 3, 3));
  sd.set('body.0.bias', tensor(feat));
  sd.set('body.1.weight', tensor(feat));
  for (let c = 1; c <= numConv; c++) {
    sd.set(`body.${2 * c}.weight`, tensor(feat, feat, 3, 3));
    sd.set(`body.${2 * c}.bias`, tensor(feat));
    sd.set(`body.${2 * c + 1}.weight`, tensor(feat));
  }
  const last = 2 * (numConv + 1);
  sd.set(`body.${last}.weight`, tensor(3 * scale * scale, feat, 3, 3));
  sd.set(`body.${last}.bias`, tensor(3 * scale * scale));
  return sd;
}
