/**
 * ONNX subgraphs several architecture graphs share (opset 17 has neither Gelu nor an L2
 * normalisation op). `scalar` names a shared float constant of the caller's builder.
 */
import { attr, type OnnxGraphBuilder } from '../onnx/onnx-graph.js';

type Scalar = (value: number) => string;

/** torch GELU (exact): x * 0.5 * (1 + erf(x / sqrt(2))). */
export function exactGelu(g: OnnxGraphBuilder, scalar: Scalar, x: string, out: string): string {
  g.node('Mul', [x, scalar(Math.SQRT1_2)], [`${out}.scaled`]);
  g.node('Erf', [`${out}.scaled`], [`${out}.erf`]);
  g.node('Add', [`${out}.erf`, scalar(1)], [`${out}.plus1`]);
  g.node('Mul', [x, scalar(0.5)], [`${out}.half`]);
  g.node('Mul', [`${out}.half`, `${out}.plus1`], [out]);
  return out;
}

/** F.normalize over the last axis: x / max(||x||, 1e-12). */
export function l2Normalize(g: OnnxGraphBuilder, scalar: Scalar, x: string, out: string): string {
  g.node('ReduceL2', [x], [`${out}.norm`], { axes: attr.ints([-1]), keepdims: attr.int(1) });
  g.node('Max', [`${out}.norm`, scalar(1e-12)], [`${out}.clamped`]);
  g.node('Div', [x, `${out}.clamped`], [out]);
  return out;
}
