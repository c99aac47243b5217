// Multiply-adds per input pixel of the networks the bench times (3x3 convolutions dominate; the
// activations, additions and shuffles are left out). FLOPs = 2 x multiply-adds.
const conv = (cin, cout, area = 1) => cin * cout * 9 * area;

export function srvggMacsPerPixel(numConv, numFeat = 64, scale = 4) {
  return conv(3, numFeat) + numConv * conv(numFeat, numFeat) + conv(numFeat, 3 * scale * scale);
}

export function rrdbMacsPerPixel(numBlock, numFeat = 64, grow = 32) {
  let rdb = 0;
  for (let j = 1; j <= 5; j++) rdb += conv(numFeat + (j - 1) * grow, j < 5 ? grow : numFeat);
  // x4: conv_up1 at 2x2 the input's pixels, conv_up2, conv_hr and conv_last at 4x4.
  return conv(3, numFeat) + numBlock * 3 * rdb + conv(numFeat, numFeat) + conv(numFeat, numFeat, 4) + 2 * conv(numFeat, numFeat, 16) + conv(numFeat, 3, 16);
}

export function macsPerPixel(arch) {
  const n = Number(/\d+$/.exec(arch)[0]);
  return arch.startsWith('srvgg') ? srvggMacsPerPixel(n) : rrdbMacsPerPixel(n);
}
