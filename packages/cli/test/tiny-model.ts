// A tiny random-weight SRVGGNetCompact (4 features, 1 body conv, PReLU) as ONNX: fast enough to
// push every fixture image through the CLI's decode -> upscale -> encode path.
import { writeFile } from 'node:fs/promises';
import { buildSrvggOnnx, type StateDict, type TensorEntry } from '@superres/models';

function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

export function tinySrvggStateDict(scale: number, seed = 1): StateDict {
  const next = random(seed);
  const tensor = (...shape: number[]): TensorEntry => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = next() * 0.2;
    return { dtype: 'float32', shape, data };
  };
  const feat = 4;
  return new Map<string, TensorEntry>([
    ['body.0.weight', tensor(feat, 3, 3, 3)],
    ['body.0.bias', tensor(feat)],
    ['body.1.weight', tensor(feat)],
    ['body.2.weight', tensor(feat, feat, 3, 3)],
    ['body.2.bias', tensor(feat)],
    ['body.3.weight', tensor(feat)],
    ['body.4.weight', tensor(3 * scale * scale, feat, 3, 3)],
    ['body.4.bias', tensor(3 * scale * scale)],
  ]);
}

export async function writeTinyOnnx(path: string, scale = 2): Promise<string> {
  await writeFile(path, buildSrvggOnnx(tinySrvggStateDict(scale)).onnx);
  return path;
}
