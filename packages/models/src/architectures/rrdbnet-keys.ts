/**
 * The key layouts RRDBNet (ESRGAN) checkpoints come in, mapped onto one set of canonical names
 * (BasicSR's). The network is the same in all of them; only the module paths differ.
 *
 * - `basicsr` (BasicSR `basicsr/archs/rrdbnet_arch.py`, every official Real-ESRGAN RRDB model):
 *   conv_first, body.{i}.rdb{k}.conv{j}, conv_body, conv_up{u}, conv_hr, conv_last.
 * - `esrgan` (xinntao/ESRGAN `RRDBNet_arch.py`, also BSRGAN and RealSR): conv_first,
 *   RRDB_trunk.{i}.RDB{k}.conv{j}, trunk_conv, upconv{u}, HRconv, conv_last.
 * - `esrgan-old` (the original ESRGAN release and most community models): one flattened
 *   nn.Sequential `model`: 0 conv_first; 1 ShortcutBlock whose `sub` holds the RRDBs
 *   (`model.1.sub.{i}.RDB{k}.conv{j}.0`, each conv wrapped in a conv_block Sequential) then
 *   conv_body at `model.1.sub.{num_block}`; then per upsampling step [Upsample, conv, LeakyReLU]
 *   (convs at 3, 6, ...); then conv_hr, LeakyReLU, conv_last. With n upsampling steps conv_hr
 *   sits at 3n + 2 and conv_last at 3n + 4: x1 -> 2, 4; x2 -> 5, 7; x4 -> 8, 10; x8 -> 11, 13.
 */
import { BadCheckpointError } from '@superres/core';

export type RrdbKeyLayout = 'basicsr' | 'esrgan' | 'esrgan-old';

/** One 3x3 convolution: its canonical name and the key prefix of its tensors in the file. */
export interface RrdbConvKey {
  readonly name: string;
  readonly source: string;
}

/** Tensors whose presence tells the layout (as spandrel's ESRGAN detection also uses). */
const MARKERS: readonly [RrdbKeyLayout, readonly string[]][] = [
  ['basicsr', ['conv_first.weight', 'body.0.rdb1.conv1.weight']],
  ['esrgan', ['conv_first.weight', 'RRDB_trunk.0.RDB1.conv1.weight']],
  ['esrgan-old', ['model.0.weight', 'model.1.sub.0.RDB1.conv1.0.weight']],
];

const BLOCK_KEY: Record<RrdbKeyLayout, RegExp> = {
  basicsr: /^body\.(\d+)\.rdb[123]\.conv[1-5]\.(weight|bias)$/,
  esrgan: /^RRDB_trunk\.(\d+)\.RDB[123]\.conv[1-5]\.(weight|bias)$/,
  'esrgan-old': /^model\.1\.sub\.(\d+)\.RDB[123]\.conv[1-5]\.0\.(weight|bias)$/,
};

const UPCONV_KEY: Record<Exclude<RrdbKeyLayout, 'esrgan-old'>, RegExp> = {
  basicsr: /^conv_up(\d+)\.(weight|bias)$/,
  esrgan: /^upconv(\d+)\.(weight|bias)$/,
};

const OLD_TOP_KEY = /^model\.(\d+)\.(weight|bias)$/;

/** The layout whose marker tensors are present, undefined when none is. */
export function rrdbKeyLayout(keys: Iterable<string>): RrdbKeyLayout | undefined {
  const set = new Set(keys);
  return MARKERS.find(([, names]) => names.every((n) => set.has(n)))?.[0];
}

/** num_block: one past the highest RRDB index (a gap shows up later as a missing tensor). */
export function countBlocks(keys: Iterable<string>, layout: RrdbKeyLayout): number {
  let highest = -1;
  for (const key of keys) {
    const m = BLOCK_KEY[layout].exec(key);
    if (m) highest = Math.max(highest, Number(m[1]));
  }
  return highest + 1;
}

/**
 * How many upsampling convolutions the file holds. BasicSR always has two (x4 upsampler; its
 * x2 and x1 models pixel-unshuffle first); the old layout has one per x2 step.
 */
export function countUpconvs(keys: Iterable<string>, layout: RrdbKeyLayout): number {
  let highest = 0;
  if (layout !== 'esrgan-old') {
    for (const key of keys) {
      const m = UPCONV_KEY[layout].exec(key);
      if (m) highest = Math.max(highest, Number(m[1]));
    }
    return highest;
  }
  for (const key of keys) {
    const m = OLD_TOP_KEY.exec(key);
    if (m) highest = Math.max(highest, Number(m[1]));
  }
  // The highest top-level index is conv_last, at 3n + 4.
  const steps = (highest - 4) / 3;
  if (!Number.isInteger(steps) || steps < 0) {
    throw new BadCheckpointError(
      `RRDBNet (old ESRGAN layout): the last convolution is model.${highest}, but it must sit at model.{3n + 4} for n upsampling steps (4, 7, 10, 13, ...)`,
      { details: { tensor: `model.${highest}.weight` } },
    );
  }
  return steps;
}

/** Every convolution in forward order, canonical name -> key prefix in the file. */
export function rrdbConvKeys(layout: RrdbKeyLayout, numBlock: number, numUp: number): RrdbConvKey[] {
  const keys: RrdbConvKey[] = [];
  const add = (name: string, source: string) => keys.push({ name, source });
  add('conv_first', layout === 'esrgan-old' ? 'model.0' : 'conv_first');
  for (let i = 0; i < numBlock; i++) {
    for (let k = 1; k <= 3; k++) {
      for (let j = 1; j <= 5; j++) {
        const source =
          layout === 'basicsr'
            ? `body.${i}.rdb${k}.conv${j}`
            : layout === 'esrgan'
              ? `RRDB_trunk.${i}.RDB${k}.conv${j}`
              : `model.1.sub.${i}.RDB${k}.conv${j}.0`;
        add(`body.${i}.rdb${k}.conv${j}`, source);
      }
    }
  }
  const old = layout === 'esrgan-old';
  add('conv_body', old ? `model.1.sub.${numBlock}` : layout === 'esrgan' ? 'trunk_conv' : 'conv_body');
  for (let u = 1; u <= numUp; u++) {
    add(`conv_up${u}`, old ? `model.${3 * u}` : layout === 'esrgan' ? `upconv${u}` : `conv_up${u}`);
  }
  add('conv_hr', old ? `model.${3 * numUp + 2}` : layout === 'esrgan' ? 'HRconv' : 'conv_hr');
  add('conv_last', old ? `model.${3 * numUp + 4}` : 'conv_last');
  return keys;
}
