/**
 * Where each input's result goes, decided and checked before any model loads: one output file,
 * or an output directory mirroring the inputs' relative paths (with a suffix and an extension).
 * The directory is created and must be writable; two inputs may not share an output, and no
 * output may be its own input. Existing outputs in a directory are skipped unless `overwrite`.
 */
import { access, constants, mkdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { formatFromPath, type OutputFormat } from '@superres/image-io';
import { CliError } from '../cli-error.js';
import { isDirectory } from '../model-ref.js';
import type { InputFile } from './inputs.js';

export type ExtChoice = 'auto' | 'png' | 'jpg' | 'webp' | 'avif';

export interface OutputPlanOptions {
  /** `-o`: a file (one input, an image extension) or a directory. */
  output: string;
  ext: ExtChoice;
  /** Added to each file name in a directory, before the extension. */
  suffix: string;
  overwrite: boolean;
  /** With several models, each output name carries the model's id. */
  modelTags: readonly string[];
}

export interface PlannedOutput {
  input: InputFile;
  /** The model tag ('' with one model). */
  tag: string;
  output: string;
  format: OutputFormat;
  /** Already there and not to be replaced. */
  skip: boolean;
}

const EXT_OF: Record<OutputFormat, string> = { png: 'png', jpeg: 'jpg', webp: 'webp', avif: 'avif' };

/** `--ext auto`: the input's own format where we can write it, else PNG (lossless, keeps alpha and 16 bits). */
export function autoFormat(input: string): OutputFormat {
  const ext = extname(input).slice(1).toLowerCase();
  if (ext === 'jpg' || ext === 'jpeg' || ext === 'jpe') return 'jpeg';
  if (ext === 'webp' || ext === 'avif') return ext;
  return 'png';
}

const formatOf = (ext: ExtChoice, input: string): OutputFormat => (ext === 'auto' ? autoFormat(input) : ext === 'jpg' ? 'jpeg' : ext);

async function writable(dir: string, what: string): Promise<void> {
  try {
    await access(dir, constants.W_OK);
  } catch {
    throw new CliError('E_OUTPUT_NOT_WRITABLE', `Cannot write to ${what} ${dir}: check that it exists and that you may write there`);
  }
}

/** One input and a -o that is not a directory (nor ends in a slash): a single file. */
export async function isSingleFileOutput(inputs: readonly InputFile[], explicitFiles: number, output: string, models: number): Promise<boolean> {
  return inputs.length === 1 && explicitFiles === 1 && !/[\\/]$/.test(output) && !(await isDirectory(output)) && extname(output) !== '' && models >= 1;
}

export async function planOutputs(inputs: readonly InputFile[], single: boolean, options: OutputPlanOptions): Promise<PlannedOutput[]> {
  const tags = options.modelTags.length > 1 ? options.modelTags : [''];
  const planned: PlannedOutput[] = [];
  if (single) {
    const format = options.ext === 'auto' ? formatFromPath(options.output) : formatOf(options.ext, options.output);
    const dir = dirname(resolve(options.output));
    if (!(await isDirectory(dir))) throw new CliError('E_OUTPUT_NOT_WRITABLE', `The output's directory ${dir} does not exist`);
    await writable(dir, 'the directory');
    for (const tag of tags) {
      const output = tag ? join(dirname(options.output), `${basename(options.output, extname(options.output))}_${tag}${extname(options.output)}`) : options.output;
      planned.push({ input: inputs[0]!, tag, output, format, skip: false });
    }
  } else {
    if (await stat(options.output).then((s) => !s.isDirectory(), () => false)) {
      throw new CliError('E_OUTPUT_IS_FILE', `-o ${options.output} is a file; with ${inputs.length} inputs it must be a directory`, 2);
    }
    await mkdir(options.output, { recursive: true }).catch((cause: NodeJS.ErrnoException) => {
      throw new CliError('E_OUTPUT_NOT_WRITABLE', `Cannot create the output directory ${options.output}: ${cause.code ?? cause.message}`);
    });
    await writable(options.output, 'the output directory');
    for (const input of inputs) {
      const format = formatOf(options.ext, input.path);
      const stem = input.relative.slice(0, input.relative.length - extname(input.relative).length);
      for (const tag of tags) {
        const output = join(options.output, `${stem}${options.suffix}${tag ? `_${tag}` : ''}.${EXT_OF[format]}`);
        planned.push({ input, tag, output, format, skip: !options.overwrite && (await stat(output).then(() => true, () => false)) });
      }
    }
    // Subdirectories of the output mirror the inputs' and are made now, so a failure shows before any work.
    for (const dir of new Set(planned.map((p) => dirname(p.output)))) await mkdir(dir, { recursive: true });
  }
  const byOutput = new Map<string, PlannedOutput>();
  for (const p of planned) {
    const key = resolve(p.output);
    if (key === resolve(p.input.path)) {
      throw new CliError('E_OUTPUT_IS_INPUT', `${p.output} would replace its own input: give --suffix or another output directory`, 2);
    }
    const other = byOutput.get(key);
    if (other) throw new CliError('E_OUTPUT_CLASH', `${other.input.path} and ${p.input.path} would both be written to ${p.output}: give --ext or rename one`, 2);
    byOutput.set(key, p);
  }
  return planned;
}
