// A tiny random-weight SRVGGNetCompact (4 features, 1 body conv, PReLU) as ONNX: fast enough to
// push every fixture image through the CLI's decode -> upscale -> encode path.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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

/**
 * A tiny random-weight x2 network as an ncnn pair (`<name>.param`, `<name>.bin` in `dir`): a 3x3
 * convolution to 12 channels, PixelShuffle 2, plus the input upsampled (nearest). Returns the
 * .param path.
 */
export async function writeTinyNcnn(dir: string, name = 'tiny-ncnn', seed = 3): Promise<string> {
  const next = random(seed);
  const param = [
    '7767517',
    '6 7',
    'Input        input   0 1 data',
    'Split        split   1 2 data a b',
    'Convolution  conv    1 1 a c 0=12 1=3 4=1 5=1 6=324',
    'PixelShuffle shuffle 1 1 c up 0=2',
    'Interp       base    1 1 b base 0=1 1=2.0 2=2.0',
    'BinaryOp     add     2 1 up base output 0=0',
    '',
  ].join('\n');
  // Weights: a 4-byte tag (0 = float32), 324 values; then 12 raw float32 biases.
  const bin = new DataView(new ArrayBuffer(4 + 324 * 4 + 12 * 4));
  for (let i = 0; i < 324 + 12; i++) bin.setFloat32(4 + i * 4, next() * 0.2, true);
  const path = join(dir, `${name}.param`);
  await writeFile(path, param);
  await writeFile(join(dir, `${name}.bin`), new Uint8Array(bin.buffer));
  return path;
}
