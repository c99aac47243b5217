import { readFile } from 'node:fs/promises';
import { detectModelFormat, inspectModel, inspectNcnn, type ModelInspection, type NcnnInspection } from '@superres/models';
import { isNcnnParamPath, readNcnnFiles } from '@superres/models/node';
import { Command } from 'commander';
import type { CliIo } from '../io.js';

/**
 * `superres models inspect <file> [--json]`: what a .pth, .safetensors or .onnx file, or an ncnn
 * .param (with its .bin beside it), holds.
 * Mounted under `superres models` by commands/models.ts.
 */
export function inspectCommand(io: CliIo): Command {
  return new Command('inspect')
    .description('Show the format, architecture, scale and tensors of a model file (.pth, .safetensors, .onnx, ncnn .param)')
    .argument('<file>', 'model file')
    .option('--json', 'print the inspection as JSON')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action(async (file: string, options: { json?: boolean }) => {
      const bytes = new Uint8Array(await readFile(file));
      const format = detectModelFormat(bytes);
      let inspection: ModelInspection | NcnnInspection;
      if (format === 'ncnn' || (format === 'unknown' && isNcnnParamPath(file))) {
        const ncnn = await readNcnnFiles(file, bytes);
        inspection = inspectNcnn(ncnn.param, ncnn.bin);
      } else {
        inspection = inspectModel(bytes);
      }
      io.stdout(options.json ? `${JSON.stringify(inspection, jsonValue, 2)}\n` : formatInspection(file, inspection));
    });
}

/** The human-readable report: a summary, then one line per tensor. */
export function formatInspection(file: string, m: ModelInspection | NcnnInspection): string {
  const rows: [string, string][] = [
    ['File', file],
    ['Format', m.format + (m.nestedKey === undefined ? '' : ` (state dict under "${m.nestedKey}")`)],
    ['Architecture', m.architecture ?? 'not recognised'],
  ];
  if (m.kind && m.kind !== 'upscaler') rows.push(['Kind', m.kind]);
  if (m.hyperparameters) rows.push(['Hyperparameters', Object.entries(m.hyperparameters).map(([k, v]) => `${k}=${String(v)}`).join(' ')]);
  if (m.scale !== undefined) {
    const extra = [m.alignment !== undefined ? `alignment ${m.alignment}` : '', m.receptiveRadius !== undefined ? `receptive radius ${m.receptiveRadius}` : ''];
    rows.push(['Scale', `x${m.scale}${extra.some(Boolean) ? ` (${extra.filter(Boolean).join(', ')})` : ''}`]);
  }
  if (m.onnx) {
    rows.push(['Producer', m.onnx.producer || 'unknown']);
    rows.push(['Opsets', m.onnx.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ')]);
    for (const v of m.onnx.inputs) rows.push(['Input', valueLine(v)]);
    for (const v of m.onnx.outputs) rows.push(['Output', valueLine(v)]);
  }
  if (m.macsPerOutputPixel !== undefined) {
    rows.push(['Cost', `${Math.round(m.macsPerOutputPixel).toLocaleString('en-US')} multiply-adds per output pixel (${formatGiga(m.macsPerOutputPixel * 1e6)} per output megapixel)`]);
  }
  if (m.strippedPrefix) rows.push(['Tensor names', `prefix "${m.strippedPrefix}" removed (a training wrapper's)`]);
  rows.push(['Parameters', `${m.parameterCount.toLocaleString('en-US')} in ${m.tensors.length} tensors`]);
  if (m.error) rows.push(['Note', m.error]);
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  const head = rows.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`).join('\n');
  return `${head}\n\n${table(m.tensors.map((t) => [t.name, t.dtype, `[${t.shape.join(', ')}]`]))}`;
}

/** 1.23e9 -> "1.2 G" multiply-adds, for the cost line. */
function formatGiga(value: number): string {
  return value >= 1e12 ? `${(value / 1e12).toFixed(1)} T` : `${(value / 1e9).toFixed(1)} G`;
}

function valueLine(v: { name: string; dtype?: string; dims?: readonly (number | string | null)[] }): string {
  const dims = v.dims ? ` [${v.dims.map((d) => (d === null ? '?' : String(d))).join(', ')}]` : '';
  return `${v.name}${v.dtype ? ` ${v.dtype}` : ''}${dims}`;
}

function table(body: string[][]): string {
  const rows = [['name', 'dtype', 'shape'], ...body];
  const widths = [0, 1].map((c) => Math.max(...rows.map((r) => (r[c] as string).length)));
  return rows.map((r) => `${(r[0] as string).padEnd(widths[0] as number)}  ${(r[1] as string).padEnd(widths[1] as number)}  ${r[2]}`).join('\n') + '\n';
}

/** JSON has no bigint; none is expected, but a hyperparameter must not crash the report. */
function jsonValue(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
