/**
 * How much memory ONNX Runtime holds per input pixel while it runs a tile: the number the
 * pipeline sizes automatic tiles by. The widest stage dominates; ONNX Runtime keeps about
 * LIVE_MAPS of its feature maps alive at once (measured on onnxruntime-node 1.30, CPU, peak RSS
 * over tiles of 64..768 px: SRVGGNetCompact 64 features x4 1.07-1.26 KB per input pixel against
 * 1.23 KB estimated; RRDBNet 23 blocks x4 16.1 KB against 16.6 KB).
 */
const LIVE_MAPS = 4;
const FLOAT_BYTES = 4;

export interface WorkingMemoryShape {
  /** Channels of the widest stage times its resolution relative to the input, squared. */
  widestChannels: number;
  inChannels: number;
  outChannels: number;
  scale: number;
}

export function workingBytesPerPixel({ widestChannels, inChannels, outChannels, scale }: WorkingMemoryShape): number {
  return FLOAT_BYTES * (LIVE_MAPS * widestChannels + inChannels + outChannels * scale * scale);
}
