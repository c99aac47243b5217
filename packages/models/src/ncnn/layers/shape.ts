/**
 * Layers that move values rather than compute them: Split, Noop, MemoryData, Concat, Slice,
 * Crop, Padding, Reshape, Permute, Flatten, Softmax (ncnn's src/layer/*.cpp of those names).
 * Axes are ncnn's: they exclude the batch, and axis 0 of a 3-D blob is the channels (ONNX
 * axis 1). Layers that mix an image's rows or columns as a whole (reshaping, transposing,
 * flattening, slicing them) are refused for image-sized blobs: such a network cannot be tiled.
 */
import { attr } from '../../onnx/onnx-graph.js';
import { onlyInput, sameAs, type Blob, type LayerContext, type LayerConverter } from '../context.js';
import { mapAxis, shiftAxis, type Spatial } from '../spatial.js';
import { mergedSpatial } from './elementwise.js';

/** Ends at or past this are "to the end" (ncnn writes INT_MAX-like values). */
const TO_END = 1 << 30;
const INT_MAX = 2147483647;

function positiveAxis(ctx: LayerContext, axis: number, rank: number): number {
  const a = axis < 0 ? rank + axis : axis;
  if (a < 0 || a >= rank) throw ctx.p.bad(`axis ${axis} is out of range for a ${rank}-D blob`);
  return a;
}

/** Refuses a layer that mixes the rows or columns of an image-sized blob. */
function refuseSpatialAxis(ctx: LayerContext, blob: Blob, axis: number, what: string): void {
  if (blob.spatial && axis >= blob.rank - 2) {
    throw ctx.unsupported(`${what} along the image's ${axis === blob.rank - 1 ? 'width' : 'height'}, so the network cannot be tiled`);
  }
}

const passThrough: LayerConverter = (ctx) => {
  if (ctx.layer.outputs.length !== ctx.inputs.length && ctx.inputs.length !== 1) {
    throw ctx.p.bad(`has ${ctx.inputs.length} inputs and ${ctx.layer.outputs.length} outputs`);
  }
  ctx.layer.outputs.forEach((_, i) => ctx.define(i, ctx.inputs[ctx.inputs.length === 1 ? 0 : i]!));
};

const split: LayerConverter = (ctx) => {
  if (ctx.inputs.length !== 1) throw ctx.p.bad(`takes 1 input, got ${ctx.inputs.length}`);
  // Every output is the input itself: ONNX values may have any number of readers.
  ctx.layer.outputs.forEach((_, i) => ctx.define(i, ctx.inputs[0]!));
};

const memoryData: LayerConverter = (ctx) => {
  const { p } = ctx;
  if (ctx.inputs.length !== 0 || ctx.layer.outputs.length !== 1) throw p.bad('takes no input and gives 1 output');
  const w = p.int(0, 0);
  const h = p.int(1, 0);
  const c = p.int(2, 0);
  if (p.int(11, 0) !== 0) throw ctx.unsupported('holds 4-D data, which is not supported');
  const loadType = p.int(21, 1);
  if (loadType !== 0 && loadType !== 1) throw p.bad(`load_type (21) must be 0 or 1, got ${loadType}`);
  const shape = c !== 0 ? [c, h, w] : h !== 0 ? [h, w] : w !== 0 ? [w] : [];
  if (shape.length === 0) throw ctx.unsupported('has no size (w, h and c are all 0)');
  if (shape.some((d) => d < 1)) throw p.bad(`has an invalid shape [${shape.join(', ')}]`);
  const data = ctx.bin.load(shape.reduce((a, b) => a * b, 1), loadType as 0 | 1, { layer: ctx.layer, what: 'data' });
  const onnx = ctx.constant('data', [1, ...shape], data);
  ctx.define(0, { onnx, rank: shape.length, channels: shape[0]!, shape });
};

const concat: LayerConverter = (ctx) => {
  const { inputs } = ctx;
  if (inputs.length < 1 || ctx.layer.outputs.length !== 1) throw ctx.p.bad('takes at least 1 input and gives 1 output');
  const rank = inputs[0]!.rank;
  if (inputs.some((b) => b.rank !== rank)) throw ctx.p.bad('concatenates blobs of different ranks');
  const axis = positiveAxis(ctx, ctx.p.int(0, 0), rank);
  for (const b of inputs) refuseSpatialAxis(ctx, b, axis, 'concatenates');
  const out = ctx.name('out');
  ctx.g.node('Concat', inputs.map((b) => b.onnx), [out], { axis: attr.int(axis + 1) });
  const spatial = mergedSpatial(ctx, inputs);
  const known = inputs.every((b) => b.channels !== undefined);
  const channels = axis === 0 ? (known ? inputs.reduce((a, b) => a + b.channels!, 0) : undefined) : inputs.find((b) => b.channels !== undefined)?.channels;
  ctx.define(0, { onnx: out, rank, ...(channels === undefined ? {} : { channels }), ...(spatial ? { spatial } : {}) });
};

/** The length of ncnn axis `axis` of `blob` when known. */
function axisLength(blob: Blob, axis: number): number | undefined {
  if (blob.shape) return blob.shape[axis];
  return axis === 0 ? blob.channels : undefined;
}

const slice: LayerConverter = (ctx) => {
  const input = singleInput(ctx);
  const { p } = ctx;
  const axis = positiveAxis(ctx, p.int(1, 0), input.rank);
  refuseSpatialAxis(ctx, input, axis, 'slices');
  const n = ctx.layer.outputs.length;
  const slices = p.ints(0);
  const indices = p.ints(2);
  const length = axisLength(input, axis);
  let sizes: number[] | undefined;
  const outs = ctx.layer.outputs.map((_, i) => ctx.name(`out${i}`));
  if (indices) {
    if (indices.length < n - 1) throw p.bad(`has ${indices.length} indices for ${n} outputs`);
    // Output i is [indices[i-1], indices[i]); the last runs to the end. Negative counts from the end.
    for (let i = 0; i < n; i++) {
      const start = i === 0 ? 0 : indices[i - 1]!;
      const end = i === n - 1 ? INT_MAX : indices[i]!;
      const starts = ctx.ints(`starts${i}`, [start]);
      ctx.g.node('Slice', [input.onnx, starts, ctx.ints(`ends${i}`, [end]), ctx.ints(`axes${i}`, [axis + 1])], [outs[i]!]);
    }
  } else {
    if (!slices || slices.length !== n) throw p.bad(`has ${slices?.length ?? 0} slices for ${n} outputs`);
    if (length !== undefined) {
      // ncnn: -233 takes an equal share of what is left.
      sizes = [];
      let q = 0;
      for (let i = 0; i < n; i++) {
        const size = slices[i] === -233 ? Math.trunc((length - q) / (n - i)) : slices[i]!;
        if (size < 1 || q + size > length) throw p.bad(`slices [${slices.join(', ')}] do not fit an axis of ${length}`);
        sizes.push(size);
        q += size;
      }
    } else if (slices.every((s) => s === -233)) {
      sizes = undefined;
    } else if (slices.every((s) => s > 0)) {
      sizes = [...slices];
    } else {
      throw ctx.unsupported(`slices [${slices.join(', ')}] need the axis length, which is not known here`);
    }
    ctx.g.node('Split', sizes ? [input.onnx, ctx.ints('split', sizes)] : [input.onnx], outs, { axis: attr.int(axis + 1) });
  }
  outs.forEach((onnx, i) => {
    const size = sizes?.[i];
    const channels = axis === 0 ? size : input.channels;
    const shape = input.shape && size !== undefined ? input.shape.map((d, a) => (a === axis ? size : d)) : undefined;
    ctx.define(i, { onnx, rank: input.rank, ...(channels === undefined ? {} : { channels }), ...(input.spatial ? { spatial: input.spatial } : {}), ...(shape ? { shape } : {}) });
  });
};

function singleInput(ctx: LayerContext): Blob {
  if (ctx.inputs.length !== 1) throw ctx.p.bad(`takes 1 input, got ${ctx.inputs.length}`);
  return ctx.inputs[0]!;
}

interface AxisCut {
  axis: number;
  start: number;
  /** ONNX end: negative counts from the end, INT_MAX is the end. */
  end: number;
  /** Whether the output length follows the input's (tileable along an image axis). */
  follows: boolean;
}

/** ncnn Crop's rules for one axis, as ONNX Slice start/end. */
function cropAxis(axis: number, start: number, end: number): AxisCut {
  if (start === -233) start = 0;
  if (end === -233 || end === 0 || end >= TO_END) return { axis, start, end: INT_MAX, follows: start >= 0 };
  return { axis, start, end, follows: start >= 0 && end < 0 };
}

const crop: LayerConverter = (ctx) => {
  const { p } = ctx;
  if (ctx.inputs.length === 2) throw ctx.unsupported('crops to the size of a second blob, which is not supported');
  const input = onlyInput(ctx);
  if ([19, 20, 21].some((k) => p.has(k))) throw ctx.unsupported('crops by expressions, which is not supported');
  const rank = input.rank;
  if (rank > 3) throw ctx.unsupported(`crops a ${rank}-D blob; up to 3-D is supported`);
  const cuts: AxisCut[] = [];
  const starts = p.ints(9);
  const ends = p.ints(10);
  if (starts && ends && starts.length > 0 && ends.length > 0) {
    const axes = p.ints(11) ?? [];
    const count = axes.length === 0 ? rank : axes.length;
    if (starts.length < count || ends.length < count) throw p.bad(`has ${starts.length} starts and ${ends.length} ends for ${count} axes`);
    for (let i = 0; i < count; i++) {
      cuts.push(cropAxis(axes.length === 0 ? i : positiveAxis(ctx, axes[i]!, rank), starts[i]!, ends[i]!));
    }
  } else {
    // Offsets from the start (woffset, hoffset, coffset), from the end (woffset2, ...), and
    // sizes (outw, outh, outc): -233 = what is left, else at most that many.
    const keys = [
      { off: 2, out: 5, off2: 8 }, // c
      { off: 1, out: 4, off2: 7 }, // h
      { off: 0, out: 3, off2: 6 }, // w
    ].slice(3 - rank);
    const read = keys.map((k) => ({ off: p.int(k.off, 0), size: p.int(k.out, 0), off2: p.int(k.off2, 0) }));
    if (read.every((r) => r.size === 0 && r.off2 === 0)) {
      throw p.bad('gives no output sizes, so ncnn takes them from a second input blob, and it has one input');
    }
    read.forEach(({ off, size, off2 }, axis) => {
      if (off < 0 || off2 < 0) throw p.bad(`has a negative offset (${off}, ${off2})`);
      if (size === -233) {
        if (off !== 0 || off2 !== 0) cuts.push({ axis, start: off, end: off2 > 0 ? -off2 : INT_MAX, follows: true });
      } else if (size > 0) {
        if (off2 !== 0) throw ctx.unsupported('crops with both an output size and an end offset on one axis, which is not supported');
        cuts.push({ axis, start: off, end: off + size, follows: false });
      } else {
        throw p.bad(`output size ${size} on axis ${axis} leaves nothing (use -233 for "what is left")`);
      }
    });
  }
  if (cuts.length === 0) return void ctx.define(0, input);
  const out = ctx.name('out');
  ctx.g.node(
    'Slice',
    [
      input.onnx,
      ctx.ints('starts', cuts.map((c) => c.start)),
      ctx.ints('ends', cuts.map((c) => c.end)),
      ctx.ints('axes', cuts.map((c) => c.axis + 1)),
    ],
    [out],
  );
  let spatial: Spatial | undefined = input.spatial;
  let channels = input.channels;
  for (const cut of cuts) {
    if (cut.axis === 0 && rank === 3) {
      channels = input.channels === undefined ? undefined : sliceLength(input.channels, cut);
      continue;
    }
    if (!spatial || cut.axis < rank - 2) continue;
    if (!cut.follows) {
      throw ctx.unsupported('crops the image to a fixed size or from a position counted from its end, so the network cannot be tiled');
    }
    const name = cut.axis === rank - 1 ? 'x' : 'y';
    const a = spatial[name];
    const endCut = cut.end === INT_MAX ? 0 : -cut.end;
    spatial = { ...spatial, [name]: mapAxis(a, shiftAxis(a, -cut.start, -endCut), () => ctx.where()) };
  }
  ctx.define(0, { onnx: out, rank, ...(channels === undefined ? {} : { channels }), ...(spatial ? { spatial } : {}) });
};

function sliceLength(length: number, cut: AxisCut): number {
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? length + v : v, 0), length);
  return Math.max(0, clamp(cut.end) - clamp(cut.start));
}

const padding: LayerConverter = (ctx) => {
  const input = onlyInput(ctx);
  const { p } = ctx;
  const [top, bottom, left, right] = [p.int(0, 0), p.int(1, 0), p.int(2, 0), p.int(3, 0)];
  const [front, behind] = [p.int(7, 0), p.int(8, 0)];
  const type = p.int(4, 0);
  const value = p.float(5, 0);
  const perChannel = p.int(6, 0);
  if (perChannel > 0) {
    ctx.bin.load(perChannel, 1, { layer: ctx.layer, what: 'per_channel_pad_data' });
    throw ctx.unsupported('pads each channel with its own value (per_channel_pad_data), which is not supported');
  }
  const pads = [top, bottom, left, right, front, behind];
  if (pads.some((v) => v < 0)) throw p.bad(`has negative pads [${pads.join(', ')}]`);
  if (type < 0 || type > 2) throw p.bad(`type ${type} is not 0 (constant), 1 (edge) or 2 (reflect)`);
  if (input.rank !== 3) throw ctx.unsupported(`pads a ${input.rank}-D blob; only 3-D (c, h, w) blobs are supported`);
  if (pads.every((v) => v === 0)) return void ctx.define(0, input);
  const out = ctx.name('out');
  const mode = ['constant', 'edge', 'reflect'][type]!;
  const inputs = [input.onnx, ctx.ints('pads', [0, front, top, left, 0, behind, bottom, right])];
  if (type === 0) inputs.push(ctx.constant('value', [], new Float32Array([value])));
  ctx.g.node('Pad', inputs, [out], { mode: attr.string(mode) });
  const s = input.spatial;
  const spatial = s && {
    y: mapAxis(s.y, shiftAxis(s.y, top, bottom), () => ctx.where()),
    x: mapAxis(s.x, shiftAxis(s.x, left, right), () => ctx.where()),
  };
  const channels = input.channels === undefined ? undefined : input.channels + front + behind;
  ctx.define(0, { onnx: out, rank: 3, ...(channels === undefined ? {} : { channels }), ...(spatial ? { spatial } : {}) });
};

const reshape: LayerConverter = (ctx) => {
  const input = onlyInput(ctx);
  const { p } = ctx;
  if (p.has(6)) throw ctx.unsupported('reshapes by an expression, which is not supported');
  if (p.int(3, 0) !== 0) throw ctx.unsupported('uses the old permute flag (key 3), which is not supported');
  if (p.int(11, -233) !== -233) throw ctx.unsupported('reshapes to 4-D, which is not supported');
  if (input.spatial) throw ctx.unsupported('reshapes an image-sized blob, so the network cannot be tiled');
  // ncnn order: w (0), h (1), c (2); -233 = absent, 0 = keep the input's, -1 = infer.
  const given = [p.int(0, -233), p.int(1, -233), p.int(2, -233)];
  const count = given[0] === -233 ? 0 : given[1] === -233 ? 1 : given[2] === -233 ? 2 : 3;
  if (count === 0) throw p.bad('gives no shape (w, h, c all absent)');
  const innerFirst = given.slice(0, count);
  let target = [...innerFirst].reverse(); // outermost first
  if (target.includes(0)) {
    if (!input.shape) throw ctx.unsupported('keeps a dimension (0) of a blob whose shape is not known here');
    const inner = [...input.shape].reverse();
    target = innerFirst.map((d, i) => (d === 0 ? inner[i] ?? 1 : d)).reverse();
  }
  if (target.some((d) => d < -1)) throw p.bad(`has an invalid shape [${target.join(', ')}]`);
  let shape: number[] | undefined;
  if (input.shape) {
    const total = input.shape.reduce((a, b) => a * b, 1);
    const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    shape = target.map((d) => (d === -1 ? total / known : d));
    if (shape.some((d) => !Number.isInteger(d)) || shape.reduce((a, b) => a * b, 1) !== total) {
      throw p.bad(`cannot reshape [${input.shape.join(', ')}] to [${target.join(', ')}]`);
    }
  }
  const out = ctx.name('out');
  ctx.g.node('Reshape', [input.onnx, ctx.ints('shape', [1, ...(shape ?? target)])], [out]);
  const channels = shape?.[0] ?? (target[0]! > 0 ? target[0] : undefined);
  ctx.define(0, { onnx: out, rank: count, ...(channels === undefined ? {} : { channels }), ...(shape ? { shape } : {}) });
};

/** Permute order_type for 3-D blobs: the output's (w, h, c) as input axes. */
const PERMUTE_3D = ['whc', 'hwc', 'wch', 'cwh', 'hcw', 'chw'] as const;

const permute: LayerConverter = (ctx) => {
  const input = onlyInput(ctx);
  const order = ctx.p.int(0, 0);
  if (order === 0) return void ctx.define(0, input);
  if (input.spatial) throw ctx.unsupported(`permutes the axes of an image-sized blob (order_type ${order}), so the network cannot be tiled`);
  let perm: number[];
  if (input.rank === 2 && order === 1) perm = [0, 2, 1];
  else if (input.rank === 3 && order < PERMUTE_3D.length) {
    const index = { c: 1, h: 2, w: 3 } as const;
    const [w, h, c] = PERMUTE_3D[order]!.split('') as ('w' | 'h' | 'c')[];
    perm = [0, index[c!], index[h!], index[w!]];
  } else throw ctx.unsupported(`order_type ${order} on a ${input.rank}-D blob is not supported`);
  const out = ctx.name('out');
  ctx.g.node('Transpose', [input.onnx], [out], { perm: attr.ints(perm) });
  const shape = input.shape && perm.slice(1).map((a) => input.shape![a - 1]!);
  const channels = shape?.[0];
  ctx.define(0, { onnx: out, rank: input.rank, ...(channels === undefined ? {} : { channels }), ...(shape ? { shape } : {}) });
};

const flatten: LayerConverter = (ctx) => {
  const input = onlyInput(ctx);
  if (input.spatial) throw ctx.unsupported('flattens an image-sized blob, so the network cannot be tiled');
  const out = ctx.name('out');
  ctx.g.node('Flatten', [input.onnx], [out], { axis: attr.int(1) });
  const total = input.shape?.reduce((a, b) => a * b, 1);
  ctx.define(0, { onnx: out, rank: 1, ...(total === undefined ? {} : { channels: total, shape: [total] }) });
};

const softmax: LayerConverter = (ctx) => {
  const input = onlyInput(ctx);
  const raw = ctx.p.int(0, 0);
  // ncnn refuses a non-zero axis without fixbug0=1 (its old axis handling was wrong).
  if (raw !== 0 && ctx.p.int(1, 0) === 0) throw ctx.p.bad(`axis ${raw} without fixbug0=1 (key 1), which ncnn refuses to load`);
  const axis = positiveAxis(ctx, raw, input.rank);
  refuseSpatialAxis(ctx, input, axis, 'normalises');
  const out = ctx.name('out');
  ctx.g.node('Softmax', [input.onnx], [out], { axis: attr.int(axis + 1) });
  sameAs(ctx, input, out);
};

export const shapeLayers: Record<string, LayerConverter> = {
  Split: split,
  Noop: passThrough,
  MemoryData: memoryData,
  Concat: concat,
  Slice: slice,
  Crop: crop,
  Padding: padding,
  Reshape: reshape,
  Permute: permute,
  Flatten: flatten,
  Softmax: softmax,
};
