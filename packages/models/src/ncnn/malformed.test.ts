// Damaged or foreign ncnn files give typed errors that say what is wrong and where.
import { readFileSync } from 'node:fs';
import { BadCheckpointError, UnsupportedArchitectureError, type SuperresError } from '@superres/core';
import { describe, expect, it } from 'vitest';
import { fixture, needsFixture } from '../../../../test-support/fixtures.js';
import { pluginFromNcnn } from './plugin.js';
import { BinWriter, paramText, tinySrvggNcnn } from './test-support/tiny-ncnn.js';

function thrown(fn: () => unknown): SuperresError {
  try {
    fn();
  } catch (e) {
    return e as SuperresError;
  }
  throw new Error('expected a throw');
}

const tiny = tinySrvggNcnn(2);

describe('malformed ncnn models', () => {
  it('the tiny model itself converts (x2, radius 2)', () => {
    const plugin = pluginFromNcnn('tiny', tiny.param, tiny.bin);
    expect(plugin).toMatchObject({ id: 'tiny', kind: 'upscaler', scale: 2, alignment: 1, receptiveRadius: 2, info: { format: 'ncnn', architecture: 'ncnn' } });
  });

  it('wrong magic', () => {
    const e = thrown(() => pluginFromNcnn('x', tiny.param.replace('7767517', '7767516'), tiny.bin));
    expect(e).toBeInstanceOf(BadCheckpointError);
    expect(e.code).toBe('E_BAD_CHECKPOINT');
    expect(e.message).toMatch(/^ncnn \.param line 1: wrong magic "7767516"/);
  });

  it('layer and blob counts that do not match the lines', () => {
    expect(tiny.param.split('\n')[1]).toBe('8 9');
    expect(thrown(() => pluginFromNcnn('x', tiny.param.replace('\n8 9\n', '\n9 9\n'), tiny.bin)).message).toMatch(
      /line 2: declares 9 layers but 8 layer lines follow/,
    );
    expect(thrown(() => pluginFromNcnn('x', tiny.param.replace('\n8 9\n', '\n8 10\n'), tiny.bin)).message).toMatch(
      /line 2: declares 10 blobs but the layers produce 9/,
    );
  });

  it('a blob used before it is produced', () => {
    const lines = tiny.param.trim().split('\n');
    // Move the PReLU above the convolution that feeds it.
    [lines[4], lines[5]] = [lines[5]!, lines[4]!];
    const e = thrown(() => pluginFromNcnn('x', lines.join('\n'), tiny.bin));
    expect(e).toBeInstanceOf(BadCheckpointError);
    expect(e.message).toMatch(/line 5: layer "prelu0" consumes blob "c0" before any layer produces it/);
  });

  it('a truncated .bin names the layer whose weights run past the end', () => {
    const e = thrown(() => pluginFromNcnn('x', tiny.param, tiny.bin.subarray(0, tiny.bin.length - 10)));
    expect(e).toBeInstanceOf(BadCheckpointError);
    expect(e.message).toMatch(/^ncnn \.bin: Convolution layer "conv1" \(\.param line 7\) bias_data needs 12 float32 values \(48 bytes\) at offset \d+, but the file ends at \d+/);
    expect(e.details).toMatchObject({ layer: 'conv1', format: 'ncnn' });
  });

  it('a .bin longer than the layers read', () => {
    const longer = new Uint8Array(tiny.bin.length + 8);
    longer.set(tiny.bin);
    expect(thrown(() => pluginFromNcnn('x', tiny.param, longer)).message).toMatch(/8 bytes are left over \(the \.bin does not belong to this \.param\)/);
  });

  it('a .bin of another model: the sizes do not fit the layers', () => {
    const other = tinySrvggNcnn(4);
    const e = thrown(() => pluginFromNcnn('x', tiny.param, other.bin));
    expect(e).toBeInstanceOf(BadCheckpointError);
    expect(e.message).toMatch(/ncnn \.bin: |left over/);
  });

  it('a weight_data_size that does not fit the layer, and channels that do not chain', () => {
    const bad = tiny.param.replace('6=108', '6=100');
    expect(thrown(() => pluginFromNcnn('x', bad, tiny.bin)).message).toMatch(
      /line 5: Convolution layer "conv0": weight_data_size 100 is not num_output 4 x kernel 3x3 x a whole number of input channels/,
    );
    const chained = tiny.param.replace('0=12 1=3 4=1 5=1 6=432', '0=12 1=3 4=1 5=1 6=540');
    const e = thrown(() => pluginFromNcnn('x', chained, tiny.bin));
    expect(e.message).toMatch(/line 7: Convolution layer "conv1": its weight_data_size needs 5 input channels, but its input has 4/);
  });

  it('an fp16 array of odd length without its padding', () => {
    const lines = ['Input in 0 1 data', 'Convolution mix 1 1 data m 0=1 1=1 6=3', 'Interp up 1 1 m output 0=1 1=1.0 2=1.0'];
    const padded = new BinWriter().float16([0.5, 0.25, 0.125]).bytes();
    expect(pluginFromNcnn('x', paramText(lines), padded).scale).toBe(1);
    const unpadded = new BinWriter().float16([0.5, 0.25, 0.125], false).bytes();
    const e = thrown(() => pluginFromNcnn('x', paramText(lines), unpadded));
    expect(e).toBeInstanceOf(BadCheckpointError);
    expect(e.message).toMatch(/Convolution layer "mix" \(\.param line 4\) weight_data needs 3 float16 values \(8 bytes with the padding to 4\) at offset 4, but the file ends at 10/);
  });

  it('an unknown layer type, named with its layer', () => {
    const e = thrown(() => pluginFromNcnn('x', tiny.param.replace('PReLU            prelu0', 'Swizzle          prelu0'), tiny.bin));
    expect(e).toBeInstanceOf(UnsupportedArchitectureError);
    expect(e.code).toBe('E_UNSUPPORTED_ARCH');
    expect(e.message).toMatch(/ncnn layer type "Swizzle" \(layer "prelu0", \.param line 6\) is not supported; supported types: AbsVal, BatchNorm, BinaryOp, .*PixelShuffle/);
  });

  it('int8-quantized convolutions are named as unsupported', () => {
    const e = thrown(() => pluginFromNcnn('x', tiny.param.replace('6=108', '6=108 8=1'), tiny.bin));
    expect(e).toBeInstanceOf(UnsupportedArchitectureError);
    expect(e.message).toMatch(/"conv0".*int8-quantized/);
  });

  const real = needsFixture('the real realesr-animevideov3 .bin, truncated or extended', 'ncnn', 'realesr-animevideov3-x4.bin');
  it.skipIf(real.missing)(real.title, () => {
    const param = readFileSync(fixture('ncnn', 'realesr-animevideov3-x4.param'), 'utf8');
    const bin = new Uint8Array(readFileSync(fixture('ncnn', 'realesr-animevideov3-x4.bin')));
    expect(pluginFromNcnn('anime', param, bin)).toMatchObject({ scale: 4, alignment: 1, receptiveRadius: 18 });
    const truncated = thrown(() => pluginFromNcnn('anime', param, bin.subarray(0, 600_000)));
    expect(truncated).toBeInstanceOf(BadCheckpointError);
    expect(truncated.message).toMatch(/Convolution layer "Conv_\d+" \(\.param line \d+\) weight_data needs 36864 float16 values/);
    const extended = new Uint8Array(bin.length + 4);
    extended.set(bin);
    expect(thrown(() => pluginFromNcnn('anime', param, extended)).message).toMatch(/4 bytes are left over/);
    // The weights of a 64-feature layer declared for 48 outputs: the sizes disagree.
    const shrunk = param.replace('0=48 1=3 4=1 5=1 6=27648', '0=48 1=3 4=1 5=1 6=27000');
    expect(thrown(() => pluginFromNcnn('anime', shrunk, bin))).toBeInstanceOf(BadCheckpointError);
  });
});
