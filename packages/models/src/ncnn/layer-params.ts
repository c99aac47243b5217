/**
 * Typed reads of one layer's key=value parameters, with ncnn's defaults. A value of the wrong
 * kind (a float where a count belongs, an array for a scalar) is a BadCheckpointError that names
 * the layer, the key and the line. An int given for a float key is taken as that number (ncnn
 * would reinterpret its bits; no converter writes that).
 */
import { BadCheckpointError } from '@superres/core';
import type { NcnnLayer, NcnnParamValue } from './param.js';

export class LayerParams {
  constructor(readonly layer: NcnnLayer) {}

  has(key: number): boolean {
    return this.layer.params.has(key);
  }

  int(key: number, fallback: number): number {
    const v = this.layer.params.get(key);
    if (v === undefined) return fallback;
    if (v.kind !== 'int') this.wrong(key, v, 'an int');
    return v.value;
  }

  float(key: number, fallback: number): number {
    const v = this.layer.params.get(key);
    if (v === undefined) return fallback;
    if (v.kind !== 'float' && v.kind !== 'int') this.wrong(key, v, 'a number');
    return v.value;
  }

  ints(key: number): readonly number[] | undefined {
    const v = this.layer.params.get(key);
    if (v === undefined) return undefined;
    if (v.kind !== 'ints') this.wrong(key, v, 'an int array');
    return v.value;
  }

  floats(key: number): readonly number[] | undefined {
    const v = this.layer.params.get(key);
    if (v === undefined) return undefined;
    if (v.kind !== 'floats' && v.kind !== 'ints') this.wrong(key, v, 'a number array');
    return v.value;
  }

  string(key: number): string | undefined {
    const v = this.layer.params.get(key);
    if (v === undefined) return undefined;
    if (v.kind !== 'string') this.wrong(key, v, 'a string');
    return v.value;
  }

  /** A BadCheckpointError about this layer, at its line. */
  bad(message: string, details: Record<string, unknown> = {}): BadCheckpointError {
    const { layer } = this;
    return new BadCheckpointError(`ncnn .param line ${layer.line}: ${layer.type} layer "${layer.name}": ${message}`, {
      details: { format: 'ncnn', line: layer.line, layer: layer.name, type: layer.type, ...details },
    });
  }

  private wrong(key: number, v: NcnnParamValue, expected: string): never {
    throw this.bad(`parameter ${key} should be ${expected}, got ${v.kind} ${JSON.stringify(v.value)}`, { key });
  }
}
