// Random-weight checkpoints built in memory (state dicts in BasicSR's key layout), for cases that
// need an architecture whose official weights are not available here. Deterministic.
function generator(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

function conv(sd, rand, prefix, out, input, gain = 0.2) {
  const a = Math.sqrt(6 / (input * 9)) * 2 * gain;
  sd.set(`${prefix}.weight`, { dtype: 'float32', shape: [out, input, 3, 3], data: Float32Array.from({ length: out * input * 9 }, () => rand() * a) });
  sd.set(`${prefix}.bias`, { dtype: 'float32', shape: [out], data: Float32Array.from({ length: out }, () => rand() * 0.02) });
}

/**
 * RRDBNet x4 (BasicSR keys): `numBlock` RRDBs of 64 features, growth 32. `gain` scales uniform
 * He-style weights: 1 keeps activations of order 1 through the trunk (far-reaching context, like
 * a trained network); small gains make the residual branches vanish.
 */
export function rrdbStateDict(numBlock, seed = 1, gain = 0.2) {
  const rand = generator(seed);
  const sd = new Map();
  conv(sd, rand, 'conv_first', 64, 3, gain);
  for (let i = 0; i < numBlock; i++) {
    for (let k = 1; k <= 3; k++) for (let j = 1; j <= 5; j++) conv(sd, rand, `body.${i}.rdb${k}.conv${j}`, j < 5 ? 32 : 64, 64 + (j - 1) * 32, gain);
  }
  for (const p of ['conv_body', 'conv_up1', 'conv_up2', 'conv_hr']) conv(sd, rand, p, 64, 64, gain);
  conv(sd, rand, 'conv_last', 3, 64, gain);
  return sd;
}

/** SRVGGNetCompact x4 (PReLU): `numConv` body convolutions of 64 features. */
export function srvggStateDict(numConv, seed = 1) {
  const rand = generator(seed);
  const sd = new Map();
  let index = 0;
  const prelu = () => {
    sd.set(`body.${index++}.weight`, { dtype: 'float32', shape: [64], data: Float32Array.from({ length: 64 }, () => 0.25 + rand() * 0.1) });
  };
  const body = (out, input) => {
    const a = Math.sqrt(6 / (input * 9)) * 2 * 0.5;
    sd.set(`body.${index}.weight`, { dtype: 'float32', shape: [out, input, 3, 3], data: Float32Array.from({ length: out * input * 9 }, () => rand() * a) });
    sd.set(`body.${index}.bias`, { dtype: 'float32', shape: [out], data: Float32Array.from({ length: out }, () => rand() * 0.02) });
    index++;
  };
  body(64, 3);
  prelu();
  for (let i = 0; i < numConv; i++) {
    body(64, 64);
    prelu();
  }
  body(48, 64);
  return sd;
}
