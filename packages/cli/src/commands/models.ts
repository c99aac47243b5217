import { ChecksumError } from '@superres/core';
import { createModelStore, type DownloadProgress, type ModelStore, type StoreEntry } from '@superres/models/node';
import { Command } from 'commander';
import type { CliIo } from '../io.js';
import { inspectCommand } from './models-inspect.js';

const MODELS_DIR_HELP = 'models directory (default: $SUPERRES_MODELS_DIR, else $XDG_CACHE_HOME/superres/models, else ~/.cache/superres/models)';

/** The store a command works on: --models-dir, else what createModelStore reads from the environment. */
export function storeFor(modelsDir: string | undefined): ModelStore {
  return createModelStore(modelsDir ? { dir: modelsDir } : {});
}

/** Progress lines for downloads: every 10% (or every 10 MB when the size is unknown). */
export function progressPrinter(log: (line: string) => void): (p: DownloadProgress) => void {
  const last = new Map<string, number>();
  return ({ id, bytes, total }) => {
    const step = total ? Math.floor((bytes / total) * 10) : Math.floor(bytes / 10_000_000);
    if (last.get(id) === step) return;
    last.set(id, step);
    log(total ? `${id}: ${Math.floor((bytes / total) * 100)}% (${megabytes(bytes)} of ${megabytes(total)})` : `${id}: ${megabytes(bytes)}`);
  };
}

export function registerModelsCommand(program: Command, io: CliIo): void {
  const out = (line: string) => io.stdout(`${line}\n`);
  const err = (line: string) => io.stderr(`${line}\n`);
  const models = program
    .command('models')
    .description('List, download, verify, import and remove models')
    .addHelpText(
      'after',
      '\nExamples:\n  superres models list\n  superres models pull RealESRGAN_x4plus GFPGANv1.4\n  superres models import mine.pth --id my-model\n  superres models inspect mine.pth',
    );

  models
    .command('list')
    .description('Catalog and imported models, and whether they are installed')
    .option('--json', 'print JSON instead of a table', false)
    .option('--models-dir <dir>', MODELS_DIR_HELP)
    .action(async (flags: { json: boolean; modelsDir?: string }) => {
      const entries = await storeFor(flags.modelsDir).list();
      if (flags.json) return out(JSON.stringify(entries, null, 2));
      out(table(entries));
    });

  models
    .command('pull')
    .description('Download models into the models directory and verify their sha256')
    .argument('<id...>', 'catalog model ids')
    .option('--models-dir <dir>', MODELS_DIR_HELP)
    .option('-q, --quiet', 'no progress output', false)
    .action(async (ids: string[], flags: { modelsDir?: string; quiet: boolean }) => {
      const store = storeFor(flags.modelsDir);
      const onProgress = flags.quiet ? undefined : progressPrinter(err);
      for (const id of ids) {
        const result = await store.pull(id, { signal: io.signal, onProgress });
        out(`${id}: ${result.downloaded ? 'downloaded' : 'already installed'}, sha256 ${result.sha256} verified: ${result.path}`);
      }
    });

  models
    .command('verify')
    .description('Re-hash installed models; fails if any file does not match its sha256')
    .argument('[id]', 'one model (default: all)')
    .option('--models-dir <dir>', MODELS_DIR_HELP)
    .action(async (id: string | undefined, flags: { modelsDir?: string }) => {
      const results = await storeFor(flags.modelsDir).verify(id);
      for (const r of results) {
        const detail = r.status === 'mismatch' ? ` (sha256 ${r.actual}, expected ${r.expected})` : '';
        out(`${r.status.padEnd(10)} ${r.id}${r.status === 'missing' ? '' : ` ${r.path}`}${detail}`);
      }
      const bad = results.filter((r) => r.status === 'mismatch').map((r) => r.id);
      if (bad.length > 0) {
        throw new ChecksumError(`${bad.length} model file(s) do not match their sha256: ${bad.join(', ')}`, { details: { ids: bad } });
      }
    });

  models
    .command('remove')
    .description('Delete a model file, its records and its converted ONNX graphs')
    .argument('<id>', 'model id')
    .option('--models-dir <dir>', MODELS_DIR_HELP)
    .action(async (id: string, flags: { modelsDir?: string }) => {
      const removed = await storeFor(flags.modelsDir).remove(id);
      out(removed.length === 0 ? `${id}: not installed, nothing to remove` : `${id}: removed ${removed.join(', ')}`);
    });

  models
    .command('import')
    .description(
      'Copy a .pth or .safetensors checkpoint or an .onnx model into the models directory under an id of your choice (an ncnn .param, with its .bin beside it, is stored converted to ONNX)',
    )
    .argument('<file>', 'checkpoint (.pth, .safetensors) or ONNX file, or ncnn .param')
    .requiredOption('--id <id>', 'the id to use it by (e.g. with upscale --model)')
    .option('--replace', 'replace an earlier import with this id', false)
    .option('--models-dir <dir>', MODELS_DIR_HELP)
    .action(async (file: string, flags: { id: string; replace: boolean; modelsDir?: string }) => {
      const record = await storeFor(flags.modelsDir).import(file, { id: flags.id, replace: flags.replace });
      const what = (record.kind ?? 'upscaler') === 'upscaler' ? `${record.architecture} x${record.scale}` : `${record.architecture} (${record.kind})`;
      out(`${record.id}: imported ${what} (${record.format}, sha256 ${record.sha256})`);
    });

  // addCommand does not pass settings down: give it the same exit and output handling.
  models.addCommand(inspectCommand(io).copyInheritedSettings(models));
}

function table(entries: StoreEntry[]): string {
  const rows = [
    ['ID', 'SCALE', 'ARCHITECTURE', 'SIZE', 'INSTALLED', 'DESCRIPTION'],
    ...entries.map((e) => [
      e.isDefault ? `${e.id} *` : e.id,
      e.kind === 'upscaler' ? `x${e.scale}` : '-',
      e.architecture ?? '-',
      e.size === undefined ? '-' : megabytes(e.size),
      e.installed ? 'yes' : 'no',
      e.description ?? '',
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd());
  return `${lines.join('\n')}\n* default model`;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}
