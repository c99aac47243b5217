/**
 * The ncnn `.param` text format: the magic 7767517, a line "<layer count> <blob count>", then one
 * line per layer:
 *
 *   <type> <name> <input count> <output count> <input blobs...> <output blobs...> <k=v...>
 *
 * Keys are 0..31. A value is an int, a float (written with `.` or `e`), a string (it starts with a
 * letter or a quote), or an array: `-23300-k=count,v1,v2,...` (the old form, for key k) or
 * `k=v1,v2,...` (the modern one). Written from ncnn's docs/developer-guide/param-and-model-file-
 * structure.md and the rules of its ParamDict::load_param; every problem is a BadCheckpointError
 * that names the line.
 */
import { BadCheckpointError } from '@superres/core';

export const NCNN_MAGIC = 7767517;
/** ParamDict holds keys 0..31 (NCNN_MAX_PARAM_COUNT). */
export const NCNN_MAX_PARAM_ID = 31;
/** Array keys are written as -23300 - key. */
export const NCNN_ARRAY_KEY_BASE = -23300;

export type NcnnParamValue =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'string'; readonly value: string };

export interface NcnnLayer {
  readonly type: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly params: ReadonlyMap<number, NcnnParamValue>;
  /** 1-based line in the .param text. */
  readonly line: number;
}

export interface NcnnParam {
  readonly layers: readonly NcnnLayer[];
  /** Every blob name, in order of first appearance. */
  readonly blobs: readonly string[];
}

/** Largest .param text we parse (the biggest real ones are a few hundred KB). */
const MAX_PARAM_CHARS = 64 * 1024 * 1024;

function fail(line: number, message: string, details: Record<string, unknown> = {}): never {
  throw new BadCheckpointError(`ncnn .param line ${line}: ${message}`, { details: { format: 'ncnn', line, ...details } });
}

const INT = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** ncnn's own rule: a value with `.` or `e` is a float, else an int. */
function parseNumber(text: string, line: number, what: string): { float: boolean; value: number } {
  const float = /[.eE]/.test(text);
  if (float ? !FLOAT.test(text) : !INT.test(text)) fail(line, `${what}: "${text}" is not a number`);
  const value = Number(text);
  if (!float && !Number.isSafeInteger(value)) fail(line, `${what}: ${text} is out of range`);
  if (!float && (value < -(2 ** 31) || value >= 2 ** 31)) fail(line, `${what}: ${text} does not fit a 32-bit int`);
  if (float && !Number.isFinite(value)) fail(line, `${what}: ${text} is not a finite float`);
  return { float, value: float ? Math.fround(value) : value };
}

/** Splits a line into tokens; a double-quoted string value may hold spaces. */
function tokenize(text: string, line: number): string[] {
  const tokens: string[] = [];
  const re = /\S+/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    let token = m[0];
    const eq = token.indexOf('=');
    if (eq >= 0 && token[eq + 1] === '"' && (token.length === eq + 2 || !token.endsWith('"'))) {
      // key="a string with spaces": take words up to the closing quote.
      const close = text.indexOf('"', m.index + eq + 2);
      if (close < 0) fail(line, `unterminated string in "${token}"`);
      token = text.slice(m.index, close + 1);
      re.lastIndex = close + 1;
    }
    tokens.push(token);
  }
  return tokens;
}

function parseKeyValue(token: string, line: number, layer: string): [number, NcnnParamValue] {
  const eq = token.indexOf('=');
  if (eq <= 0) fail(line, `layer "${layer}": malformed parameter "${token}" (expected key=value)`);
  const keyText = token.slice(0, eq);
  const valueText = token.slice(eq + 1);
  if (!INT.test(keyText)) fail(line, `layer "${layer}": malformed parameter key "${keyText}" in "${token}"`);
  let key = Number(keyText);
  const oldArray = key <= NCNN_ARRAY_KEY_BASE;
  if (oldArray) key = NCNN_ARRAY_KEY_BASE - key;
  if (!Number.isSafeInteger(key) || key < 0 || key > NCNN_MAX_PARAM_ID) {
    fail(line, `layer "${layer}": parameter key ${keyText} is out of range (0..${NCNN_MAX_PARAM_ID}, or ${NCNN_ARRAY_KEY_BASE}-k for arrays)`);
  }
  if (valueText === '') fail(line, `layer "${layer}": parameter "${token}" has no value`);
  const what = `layer "${layer}" parameter ${keyText}`;
  if (oldArray) {
    const [countText, ...items] = valueText.split(',');
    const count = parseNumber(countText ?? '', line, `${what} array length`);
    if (count.float || count.value < 0) fail(line, `${what}: array length "${countText}" is not a count`);
    if (items.length !== count.value) {
      fail(line, `${what}: array declares ${count.value} values but has ${items.length}`);
    }
    return [key, parseArray(items, line, what)];
  }
  if (/^[A-Za-z"]/.test(valueText)) {
    // ncnn: a value that starts with a letter or a quote is a string (at most 255 characters).
    const value = valueText.startsWith('"') ? valueText.replace(/^"|"$/g, '') : valueText;
    if (value.length > 255) fail(line, `${what}: string longer than 255 characters`);
    return [key, { kind: 'string', value }];
  }
  if (valueText.includes(',')) return [key, parseArray(valueText.split(','), line, what)];
  const n = parseNumber(valueText, line, what);
  return [key, n.float ? { kind: 'float', value: n.value } : { kind: 'int', value: n.value }];
}

function parseArray(items: readonly string[], line: number, what: string): NcnnParamValue {
  const values = items.map((item, i) => parseNumber(item, line, `${what}[${i}]`));
  const floats = values.some((v) => v.float);
  return floats ? { kind: 'floats', value: values.map((v) => v.value) } : { kind: 'ints', value: values.map((v) => v.value) };
}

function parseCount(text: string | undefined, line: number, what: string): number {
  if (text === undefined || !/^\d+$/.test(text)) fail(line, `${what} "${text ?? ''}" is not a count`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) fail(line, `${what} ${text} is out of range`);
  return n;
}

/**
 * Parses a `.param` text. Checks what ncnn relies on and more: the magic, that the declared
 * layer and blob counts are the lines and blobs there are, that a blob is produced before it is
 * consumed and produced once, that layer names are unique, and every key=value.
 */
export function parseNcnnParam(text: string): NcnnParam {
  if (text.length > MAX_PARAM_CHARS) {
    throw new BadCheckpointError(`ncnn .param is ${text.length} characters, more than the ${MAX_PARAM_CHARS} a model has`, {
      details: { format: 'ncnn' },
    });
  }
  const lines = text.split(/\r?\n/);
  // Blank lines are skipped; line numbers stay those of the file.
  const content = lines.map((t, i) => ({ text: t.trim(), line: i + 1 })).filter((l) => l.text !== '');
  const magic = content[0];
  if (!magic) fail(1, 'the file is empty: expected the magic number 7767517');
  if (magic.text !== String(NCNN_MAGIC)) {
    fail(magic.line, `wrong magic "${magic.text.slice(0, 40)}": expected ${NCNN_MAGIC} (an ncnn .param file in text form)`);
  }
  const countsLine = content[1];
  if (!countsLine) fail(magic.line + 1, 'missing the "<layer count> <blob count>" line');
  const counts = countsLine.text.split(/\s+/);
  if (counts.length !== 2) fail(countsLine.line, `expected "<layer count> <blob count>", got "${countsLine.text}"`);
  const layerCount = parseCount(counts[0], countsLine.line, 'layer count');
  const blobCount = parseCount(counts[1], countsLine.line, 'blob count');
  if (layerCount === 0 || blobCount === 0) fail(countsLine.line, `layer count and blob count must be positive, got ${layerCount} and ${blobCount}`);
  const layerLines = content.slice(2);
  if (layerLines.length !== layerCount) {
    fail(
      countsLine.line,
      `declares ${layerCount} layers but ${layerLines.length} layer lines follow`,
      { declared: layerCount, found: layerLines.length },
    );
  }

  const layers: NcnnLayer[] = [];
  const producedBy = new Map<string, string>();
  const layerNames = new Set<string>();
  const blobs: string[] = [];
  for (const { text: lineText, line } of layerLines) {
    const tokens = tokenize(lineText, line);
    const [type, name] = tokens;
    if (type === undefined || name === undefined || tokens.length < 4) {
      fail(line, `expected "<type> <name> <input count> <output count> ...", got "${lineText.slice(0, 80)}"`);
    }
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(type)) fail(line, `"${type}" is not a layer type name`);
    if (layerNames.has(name)) fail(line, `duplicate layer name "${name}"`);
    layerNames.add(name);
    const inputCount = parseCount(tokens[2], line, `layer "${name}" input count`);
    const outputCount = parseCount(tokens[3], line, `layer "${name}" output count`);
    const blobEnd = 4 + inputCount + outputCount;
    if (tokens.length < blobEnd) {
      fail(line, `layer "${name}" declares ${inputCount} inputs and ${outputCount} outputs but names only ${tokens.length - 4} blobs`);
    }
    const inputs = tokens.slice(4, 4 + inputCount);
    const outputs = tokens.slice(4 + inputCount, blobEnd);
    for (const blob of [...inputs, ...outputs]) {
      if (blob.includes('=')) fail(line, `layer "${name}": "${blob}" is where a blob name should be (are the input/output counts right?)`);
    }
    for (const blob of inputs) {
      if (!producedBy.has(blob)) {
        fail(line, `layer "${name}" consumes blob "${blob}" before any layer produces it`, { blob });
      }
    }
    for (const blob of outputs) {
      const other = producedBy.get(blob);
      if (other !== undefined) fail(line, `duplicate blob "${blob}": produced by "${other}" and again by "${name}"`, { blob });
      producedBy.set(blob, name);
      blobs.push(blob);
    }
    const params = new Map<number, NcnnParamValue>();
    for (const token of tokens.slice(blobEnd)) {
      const [key, value] = parseKeyValue(token, line, name);
      if (params.has(key)) fail(line, `layer "${name}": parameter ${key} is given twice`);
      params.set(key, value);
    }
    layers.push({ type, name, inputs, outputs, params, line });
  }
  if (blobs.length !== blobCount) {
    fail(countsLine.line, `declares ${blobCount} blobs but the layers produce ${blobs.length}`, {
      declared: blobCount,
      found: blobs.length,
    });
  }
  return { layers, blobs };
}
