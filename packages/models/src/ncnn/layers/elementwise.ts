/**
 * BinaryOp and Eltwise (ncnn's src/layer/binaryop.cpp, eltwise.cpp, and
 * docs/developer-guide/binaryop-broadcasting.md).
 *
 * BinaryOp op_type: 0 add, 1 sub, 2 mul, 3 div, 4 max, 5 min, 6 pow, 7 rsub (b - a), 8 rdiv
 * (b / a), 9 rpow (b ^ a); with_scalar (key 1) takes b (key 2) as the second operand. Blobs of
 * the same rank broadcast like numpy (axes of size 1); a lower-rank blob is aligned to the
 * OUTER axes (ncnn "expands inner axes": a [c] vector scales channels), except that a 1-D blob
 * whose length is not the other's outer size lines up with the innermost axis (w).
 *
 * Eltwise op_type: 0 product, 1 sum (optional per-input coeffs, key 1), 2 max.
 */
import { mergeAxes, type Spatial } from '../spatial.js';
import type { Blob, LayerContext, LayerConverter } from '../context.js';

const BINARY_OPS: Record<number, { op: string; swap: boolean; name: string }> = {
  0: { op: 'Add', swap: false, name: 'add' },
  1: { op: 'Sub', swap: false, name: 'sub' },
  2: { op: 'Mul', swap: false, name: 'mul' },
  3: { op: 'Div', swap: false, name: 'div' },
  4: { op: 'Max', swap: false, name: 'max' },
  5: { op: 'Min', swap: false, name: 'min' },
  6: { op: 'Pow', swap: false, name: 'pow' },
  7: { op: 'Sub', swap: true, name: 'rsub' },
  8: { op: 'Div', swap: true, name: 'rdiv' },
  9: { op: 'Pow', swap: true, name: 'rpow' },
};

/** Combined spatial description of blobs combined value by value. */
export function mergedSpatial(ctx: LayerContext, blobs: readonly Blob[]): Spatial | undefined {
  const spatial = blobs.map((b) => b.spatial).filter((s): s is Spatial => s !== undefined);
  if (spatial.length === 0) return undefined;
  return {
    y: mergeAxes(spatial.map((s) => s.y), () => ctx.where()),
    x: mergeAxes(spatial.map((s) => s.x), () => ctx.where()),
  };
}

/** `small` reshaped so numpy broadcasting against `big` does what ncnn's does. */
function alignToOuterAxes(ctx: LayerContext, small: Blob, big: Blob, label: string): string {
  if (small.rank >= big.rank) return small.onnx;
  if (big.rank > 3) throw ctx.unsupported(`broadcasts a ${small.rank}-D blob against a ${big.rank}-D one, which is not supported`);
  let trailing = big.rank - small.rank;
  if (small.rank === 1) {
    const length = small.shape?.[0] ?? small.channels;
    if (length === undefined || big.channels === undefined) {
      throw ctx.unsupported('broadcasts a 1-D blob of unknown length: cannot tell whether ncnn applies it per channel or per column');
    }
    // ncnn: a vector as long as the outer axis scales that axis; otherwise it runs along w.
    if (length !== big.channels) trailing = 0;
  }
  if (trailing === 0) return small.onnx;
  const out = ctx.name(`${label}_aligned`);
  const axes = Array.from({ length: trailing }, (_, i) => small.rank + 1 + i);
  ctx.g.node('Unsqueeze', [small.onnx, ctx.ints(`${label}_axes`, axes)], [out]);
  return out;
}

const binaryOp: LayerConverter = (ctx) => {
  const { p } = ctx;
  const type = p.int(0, 0);
  const op = BINARY_OPS[type];
  if (!op) {
    throw ctx.unsupported(`op_type ${type} is not supported (supported: ${Object.entries(BINARY_OPS).map(([k, v]) => `${k} ${v.name}`).join(', ')})`);
  }
  if (ctx.layer.outputs.length !== 1) throw p.bad(`expected 1 output, got ${ctx.layer.outputs.length}`);
  const out = ctx.name('out');
  if (p.int(1, 0) !== 0) {
    if (ctx.inputs.length !== 1) throw p.bad(`with_scalar takes 1 input, got ${ctx.inputs.length}`);
    const a = ctx.inputs[0]!;
    const b = ctx.constant('b', [], new Float32Array([p.float(2, 0)]));
    ctx.g.node(op.op, op.swap ? [b, a.onnx] : [a.onnx, b], [out]);
    ctx.define(0, { ...a, onnx: out });
    return;
  }
  if (ctx.inputs.length !== 2) throw p.bad(`takes 2 inputs (or 1 with with_scalar=1), got ${ctx.inputs.length}`);
  const [a, b] = ctx.inputs as [Blob, Blob];
  const big = a.rank >= b.rank ? a : b;
  const left = alignToOuterAxes(ctx, a, big, 'a');
  const right = alignToOuterAxes(ctx, b, big, 'b');
  ctx.g.node(op.op, op.swap ? [right, left] : [left, right], [out]);
  const spatial = mergedSpatial(ctx, [a, b]);
  const channels = big.channels ?? (a.rank === b.rank ? (a.channels ?? b.channels) : undefined);
  ctx.define(0, { onnx: out, rank: big.rank, ...(channels === undefined ? {} : { channels }), ...(spatial ? { spatial } : {}) });
};

const eltwise: LayerConverter = (ctx) => {
  const { p } = ctx;
  const type = p.int(0, 0);
  if (ctx.inputs.length < 2 || ctx.layer.outputs.length !== 1) {
    throw p.bad(`takes at least 2 inputs and 1 output, got ${ctx.inputs.length} and ${ctx.layer.outputs.length}`);
  }
  const spatial = mergedSpatial(ctx, ctx.inputs);
  for (const blob of ctx.inputs) {
    if (blob.rank !== ctx.inputs[0]!.rank) throw p.bad('combines blobs of different ranks');
  }
  let terms = ctx.inputs.map((b) => b.onnx);
  const out = ctx.name('out');
  if (type === 0) {
    let acc = terms[0]!;
    for (let i = 1; i < terms.length; i++) {
      const next = i === terms.length - 1 ? out : ctx.name(`prod${i}`);
      ctx.g.node('Mul', [acc, terms[i]!], [next]);
      acc = next;
    }
  } else if (type === 1) {
    const coeffs = p.floats(1);
    if (coeffs && coeffs.length > 0) {
      if (coeffs.length !== terms.length) throw p.bad(`has ${coeffs.length} coeffs for ${terms.length} inputs`);
      terms = terms.map((t, i) => {
        if (coeffs[i] === 1) return t;
        const scaled = ctx.name(`scaled${i}`);
        ctx.g.node('Mul', [t, ctx.constant(`coeff${i}`, [], new Float32Array([coeffs[i]!]))], [scaled]);
        return scaled;
      });
    }
    ctx.g.node('Sum', terms, [out]);
  } else if (type === 2) {
    ctx.g.node('Max', terms, [out]);
  } else {
    throw ctx.unsupported(`op_type ${type} is not supported (0 product, 1 sum, 2 max)`);
  }
  const first = ctx.inputs[0]!;
  const channels = ctx.inputs.find((b) => b.channels !== undefined)?.channels;
  ctx.define(0, { onnx: out, rank: first.rank, ...(channels === undefined ? {} : { channels }), ...(spatial ? { spatial } : {}) });
};

export const elementwiseLayers: Record<string, LayerConverter> = { BinaryOp: binaryOp, Eltwise: eltwise };
