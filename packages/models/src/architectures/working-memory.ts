/**
 * How much memory ONNX Runtime holds per input pixel while it runs a tile: the number the
 * pipeline sizes automatic tiles by. The widest stage dominates; ONNX Runtime keeps about four
 * of its feature maps alive at once in a single run (onnxruntime-node 1.30, CPU, peak RSS over
 * tiles of 64..768 px: SRVGGNetCompact 64 features x4 1.07-1.26 KB per input pixel; RRDBNet 23
 * blocks x4 16.1 KB). Over a whole tiled image its allocator holds more (chunks of several tile
 * shapes), so the estimate counts LIVE_MAPS = 5: with it, tiled x4 jobs stayed within their
 * budgets from 64 to 256 MiB (BENCHMARKS.md).
 */
const LIVE_MAPS = 5;
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
