/**
 * An ncnn model (.param text + .bin weights) to an ONNX graph, with the geometry superres tiles
 * it by. Layers are converted in file order, each reading its weights from the .bin in turn, as
 * ncnn's Net::load_model does; the image geometry of every blob is tracked along the way
 * (spatial.ts), so the scale, the alignment and a sound receptive radius come from the graph
 * itself, not from a guess.
 */
import { BadCheckpointError, UnsupportedArchitectureError, type ModelGeometry } from '@superres/core';
import { workingBytesPerPixel } from '../architectures/working-memory.js';
import { OnnxGraphBuilder } from '../onnx/onnx-graph.js';
import { CONVERTER_VERSION } from '../onnx/version.js';
import type { Blob, LayerContext } from './context.js';
import { LayerParams } from './layer-params.js';
import { LAYER_CONVERTERS, SUPPORTED_NCNN_LAYERS } from './layers/index.js';
import { NcnnModelBin, type NcnnStorage, type WeightRead } from './model-bin.js';
import { parseNcnnParam, type NcnnLayer, type NcnnParam } from './param.js';
import { ZERO, lcm, show } from './rational.js';
import { INPUT_SPATIAL, describeAxis, reanchor, type Spatial } from './spatial.js';

export const NCNN_ARCHITECTURE = 'ncnn';

export interface NcnnHyperparameters {
  /** Layers in the .param, and how many of each type. */
  readonly layers: number;
  readonly layerTypes: Record<string, number>;
  readonly inputChannels: number | undefined;
  readonly outputChannels: number | undefined;
  /** Weight values read, by how the .bin stored them. */
  readonly weights: Record<NcnnStorage, number>;
}

export interface NcnnConversion {
  readonly onnx: Uint8Array;
  readonly geometry: ModelGeometry & { readonly workingBytesPerPixel: number };
  readonly hyperparameters: NcnnHyperparameters;
}

/** Layers whose outputs are their input (used to look through for the input's channel count). */
const PASS_THROUGH = new Set(['Split', 'Noop', 'Dropout']);
const CONVOLUTIONS = new Set(['Convolution', 'ConvolutionDepthWise', 'Deconvolution', 'DeconvolutionDepthWise']);

export interface ConvertNcnnOptions {
  /** Told of every weight array read from the .bin, in order (for inspection). */
  onWeights?: (read: WeightRead) => void;
}

export function convertNcnn(param: string | NcnnParam, bin: Uint8Array, options: ConvertNcnnOptions = {}): NcnnConversion {
  const parsed = typeof param === 'string' ? parseNcnnParam(param) : param;
  const { layers } = parsed;
  // Every type is checked before any weight is read: an unknown layer is named first.
  for (const layer of layers) {
    if (layer.type !== 'Input' && !Object.hasOwn(LAYER_CONVERTERS, layer.type)) {
      throw new UnsupportedArchitectureError(
        `ncnn layer type "${layer.type}" (layer "${layer.name}", .param line ${layer.line}) is not supported; supported types: ${SUPPORTED_NCNN_LAYERS.join(', ')}`,
        { details: { format: 'ncnn', type: layer.type, layer: layer.name, line: layer.line } },
      );
    }
  }
  const inputLayers = layers.filter((l) => l.type === 'Input');
  if (inputLayers.length !== 1) {
    throw new UnsupportedArchitectureError(
      inputLayers.length === 0
        ? 'ncnn model has no Input layer: an image model has one'
        : `ncnn model has ${inputLayers.length} Input layers (${inputLayers.map((l) => `"${l.name}"`).join(', ')}): superres runs models with one input image`,
      { details: { format: 'ncnn' } },
    );
  }
  const inputLayer = inputLayers[0]!;
  if (inputLayer.inputs.length !== 0 || inputLayer.outputs.length !== 1) {
    throw new LayerParams(inputLayer).bad('an Input layer has no inputs and one output');
  }
  const inputChannels = guessInputChannels(layers, inputLayer);

  const g = new OnnxGraphBuilder('ncnn');
  g.input('input', 'float32', [1, inputChannels ?? 'C', 'H', 'W']);
  const blobs = new Map<string, Blob>();
  const names = new Set<string>(['input', 'output']);
  const reader = new NcnnModelBin(bin, options.onWeights);
  const spatialBlobs: { blob: Blob; spatial: Spatial }[] = [];
  const consumed = new Set<string>();

  for (const layer of layers) {
    const p = new LayerParams(layer);
    if (layer === inputLayer) {
      const blob: Blob = { onnx: 'input', rank: 3, spatial: INPUT_SPATIAL, ...(inputChannels === undefined ? {} : { channels: inputChannels }) };
      blobs.set(layer.outputs[0]!, blob);
      continue;
    }
    const inputs = layer.inputs.map((name) => {
      consumed.add(name);
      return blobs.get(name)!;
    });
    const defined: (Blob | undefined)[] = layer.outputs.map(() => undefined);
    const where = () => `${layer.type} layer "${layer.name}" (.param line ${layer.line})`;
    const unique = (suffix: string) => {
      let name = `${layer.name}:${suffix}`;
      for (let i = 2; names.has(name); i++) name = `${layer.name}:${suffix}#${i}`;
      names.add(name);
      return name;
    };
    const ctx: LayerContext = {
      layer,
      p,
      g,
      bin: reader,
      inputs,
      where,
      name: unique,
      constant(suffix, dims, data) {
        const name = unique(suffix);
        g.initializer(name, dims, data);
        return name;
      },
      ints(suffix, values) {
        const name = unique(suffix);
        g.initializer(name, [values.length], BigInt64Array.from(values, (v) => BigInt(v)));
        return name;
      },
      define(index, blob) {
        if (index < 0 || index >= defined.length) throw new RangeError(`${where()}: output ${index} does not exist`);
        defined[index] = blob;
      },
      unsupported(message) {
        return new UnsupportedArchitectureError(`ncnn ${where()}: ${message}`, {
          details: { format: 'ncnn', type: layer.type, layer: layer.name, line: layer.line },
        });
      },
    };
    LAYER_CONVERTERS[layer.type]!(ctx);
    layer.outputs.forEach((name, i) => {
      const blob = defined[i];
      if (!blob) throw p.bad(`gives ${defined.filter(Boolean).length} outputs, but the .param names ${layer.outputs.length}`);
      blobs.set(name, blob);
      if (blob.spatial) spatialBlobs.push({ blob, spatial: blob.spatial });
    });
  }
  reader.finish();

  const outputName = pickOutput(parsed, consumed);
  const output = blobs.get(outputName)!;
  g.node('Identity', [output.onnx], ['output'], {}, { name: 'output' });
  g.output('output', 'float32', [1, output.channels ?? 'C_out', 'H_out', 'W_out']);

  const geometry = outputGeometry(output, outputName, spatialBlobs, inputChannels);
  const layerTypes: Record<string, number> = {};
  for (const layer of layers) layerTypes[layer.type] = (layerTypes[layer.type] ?? 0) + 1;
  const hyperparameters: NcnnHyperparameters = {
    layers: layers.length,
    layerTypes,
    inputChannels,
    outputChannels: output.channels,
    weights: { ...reader.storage },
  };
  const onnx = g.toBytes({
    producerName: 'superres',
    producerVersion: CONVERTER_VERSION,
    docString: `ncnn model x${geometry.scale}, converted from .param/.bin by superres`,
    metadata: {
      architecture: NCNN_ARCHITECTURE,
      scale: String(geometry.scale),
      alignment: String(geometry.alignment),
      receptive_radius: String(geometry.receptiveRadius),
      converter_version: CONVERTER_VERSION,
    },
  });
  return { onnx, geometry, hyperparameters };
}

/** The input's channels: the Input layer's c, else what the first convolution reading it needs. */
function guessInputChannels(layers: readonly NcnnLayer[], input: NcnnLayer): number | undefined {
  const c = new LayerParams(input).int(2, 0);
  if (c > 0) return c;
  const frontier = [input.outputs[0]!];
  const seen = new Set<string>();
  while (frontier.length > 0) {
    const blob = frontier.shift()!;
    if (seen.has(blob)) continue;
    seen.add(blob);
    for (const layer of layers) {
      if (!layer.inputs.includes(blob)) continue;
      if (PASS_THROUGH.has(layer.type)) frontier.push(...layer.outputs);
      else if (CONVOLUTIONS.has(layer.type)) {
        const p = new LayerParams(layer);
        try {
          const kw = p.int(1, 0);
          const perGroup = p.int(6, 0) / p.int(0, 0) / (kw * p.int(11, kw));
          const group = layer.type.endsWith('DepthWise') ? p.int(7, 1) : 1;
          if (Number.isInteger(perGroup) && perGroup > 0) return perGroup * group;
        } catch {
          // The layer's own conversion reports its broken parameters.
        }
      }
    }
  }
  return undefined;
}

/** The blob no layer consumes: the network's output ("output" when there are several). */
function pickOutput(param: NcnnParam, consumed: ReadonlySet<string>): string {
  const candidates = param.blobs.filter((b) => !consumed.has(b));
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.includes('output')) return 'output';
  throw new UnsupportedArchitectureError(
    candidates.length === 0
      ? 'ncnn model has no output blob (every blob is consumed by a layer)'
      : `ncnn model has ${candidates.length} output blobs (${candidates.slice(0, 8).map((c) => `"${c}"`).join(', ')}): superres runs models with one output image (or one named "output")`,
    { details: { format: 'ncnn', outputs: candidates } },
  );
}

function outputGeometry(
  output: Blob,
  name: string,
  spatialBlobs: readonly { blob: Blob; spatial: Spatial }[],
  inputChannels: number | undefined,
): NcnnConversion['geometry'] {
  const s = output.spatial;
  if (!s || output.rank !== 3) {
    throw new UnsupportedArchitectureError(`ncnn model's output blob "${name}" is not an image (it does not follow the input's height and width)`, {
      details: { format: 'ncnn' },
    });
  }
  // Dependencies measured from the output pixel's own input pixel, floor(P / S).
  const x = reanchor(s.x, ZERO);
  const y = reanchor(s.y, ZERO);
  if (x.scale.n !== y.scale.n || x.scale.d !== y.scale.d || x.scale.d !== 1 || x.scale.n < 1) {
    throw new UnsupportedArchitectureError(
      `ncnn model's output is ${show(x.scale)}x wide and ${show(y.scale)}x high: superres runs models whose scale is one whole number >= 1`,
      { details: { format: 'ncnn', scaleX: show(x.scale), scaleY: show(y.scale) } },
    );
  }
  for (const [axisName, a] of [['width', x], ['height', y]] as const) {
    if (a.extra !== 0) {
      throw new BadCheckpointError(
        `ncnn model's output ${axisName} is ${describeAxis(a)} pixels: not exactly ${show(a.scale)} times the input`,
        { details: { format: 'ncnn' } },
      );
    }
  }
  const scale = x.scale.n;
  let alignment = 1;
  let widest = 0;
  for (const { blob, spatial } of spatialBlobs) {
    alignment = lcm(alignment, lcm(spatial.x.scale.d, spatial.y.scale.d));
    if (blob.channels !== undefined) {
      widest = Math.max(widest, (blob.channels * spatial.x.scale.n * spatial.y.scale.n) / (spatial.x.scale.d * spatial.y.scale.d));
    }
  }
  const receptiveRadius = Math.max(0, -x.lo, x.hi, -y.lo, y.hi);
  const inCh = inputChannels ?? 3;
  const outCh = output.channels ?? inCh;
  return {
    scale,
    alignment,
    receptiveRadius,
    workingBytesPerPixel: workingBytesPerPixel({ widestChannels: Math.max(widest, inCh), inChannels: inCh, outChannels: outCh, scale }),
  };
}
