/**
 * `superres doctor`: what this machine gives superres and what is missing, each problem with its
 * fix. Exit 1 when something would make a run fail (an old Node, a models directory that cannot
 * be written, weights that do not match their sha256, no ONNX Runtime), else 0.
 */
import { constants } from 'node:fs';
import { access, mkdir, statfs } from 'node:fs/promises';
import { availableParallelism, freemem, totalmem } from 'node:os';
import type { Command } from 'commander';
import { formatByteSize } from '@superres/core';
import { DEFAULT_FACE_MODELS, DEFAULT_MODEL_ID } from '@superres/models';
import { resolvePoolSize, runtimeReport } from '@superres/models/node';
import type { CliIo } from '../io.js';
import { storeFor } from './models.js';

export interface Check {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

const MIN_NODE = [20, 19];

export async function runDoctor(options: { modelsDir?: string; verify: boolean }): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (c: Check) => checks.push(c);

  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  const oldNode = major < MIN_NODE[0]! || (major === MIN_NODE[0] && minor < MIN_NODE[1]!);
  add({
    name: 'node',
    status: oldNode ? 'fail' : major === 20 ? 'warn' : 'ok',
    detail: `Node ${process.versions.node} on ${process.platform}-${process.arch}`,
    ...(oldNode ? { fix: 'install Node 22 (or at least 20.19)' } : major === 20 ? { fix: 'Node 20 reached end of life on 2026-04-30: move to Node 22 or 24' } : {}),
  });
  add({ name: 'machine', status: 'ok', detail: `${availableParallelism()} CPU(s), ${formatByteSize(totalmem())} memory (${formatByteSize(freemem())} free)` });
  const pool = resolvePoolSize();
  add({ name: 'threads', status: 'ok', detail: `${pool.workers} inference worker(s) x ${pool.threads} thread(s) (SUPERRES_WORKERS, SUPERRES_THREADS)` });

  try {
    const runtime = await runtimeReport();
    add({ name: 'onnxruntime', status: 'ok', detail: `onnxruntime-node ${runtime.version}` });
    for (const p of runtime.providers) {
      // Only CUDA matters to superres beyond the CPU (--device cuda); the rest are listed for the record.
      const status = p.usable ? 'ok' : p.name === 'cuda' ? 'warn' : 'ok';
      add({ name: `provider ${p.name}`, status, detail: p.usable ? 'available' : 'not available', ...(p.fix && p.name === 'cuda' ? { fix: p.fix } : {}) });
    }
  } catch (error) {
    add({ name: 'onnxruntime', status: 'fail', detail: (error as Error).message, fix: 'npm install onnxruntime-node (with --onnxruntime-node-install=skip where the machine is offline)' });
  }

  try {
    // Loaded here: a broken sharp install is a finding of doctor's, not a crash.
    const { codecReport } = await import('@superres/image-io');
    const codecs = codecReport();
    add({ name: 'image codecs', status: 'ok', detail: `sharp ${codecs.sharp} with libvips ${codecs.libvips}; writes ${codecs.writes.join(', ')}` });
  } catch (error) {
    add({ name: 'image codecs', status: 'fail', detail: (error as Error).message, fix: 'reinstall sharp (npm install sharp)' });
  }

  const store = storeFor(options.modelsDir);
  const dirOk = await mkdir(store.dir, { recursive: true }).then(() => access(store.dir, constants.W_OK)).then(() => true, () => false);
  const free = await statfs(store.dir).then((s) => s.bavail * s.bsize, () => undefined);
  add({
    name: 'models directory',
    status: dirOk ? (free !== undefined && free < 1024 ** 3 ? 'warn' : 'ok') : 'fail',
    detail: `${store.dir}${free !== undefined ? ` (${formatByteSize(free)} free)` : ''}`,
    ...(dirOk ? (free !== undefined && free < 1024 ** 3 ? { fix: 'less than 1 GiB free: the face models alone take 540 MB' } : {}) : { fix: 'make it writable, or choose another with --models-dir / SUPERRES_MODELS_DIR' }),
  });
  const entries = await store.list().catch(() => []);
  const installed = entries.filter((e) => e.installed);
  const results = options.verify && installed.length > 0 ? await store.verify() : [];
  for (const e of installed) {
    const r = results.find((v) => v.id === e.id);
    const bad = r?.status === 'mismatch';
    add({
      name: `model ${e.id}`,
      status: bad ? 'fail' : 'ok',
      detail: `${e.kind}, ${e.size !== undefined ? formatByteSize(e.size) : '?'}${r ? `, sha256 ${r.status}` : ''}`,
      ...(bad ? { fix: `superres models pull ${e.id} (replaces the damaged file)` } : {}),
    });
  }
  for (const id of [DEFAULT_MODEL_ID, ...Object.values(DEFAULT_FACE_MODELS)]) {
    const e = entries.find((x) => x.id === id);
    if (e && !e.installed) {
      add({ name: `model ${id}`, status: 'warn', detail: `not downloaded yet (${e.kind}${id === DEFAULT_MODEL_ID ? ', the default' : ', face enhancement'})`, fix: `superres models pull ${id} (or let the first run download it)` });
    }
  }
  return checks;
}

const MARK: Record<Check['status'], string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' };

export function registerDoctorCommand(program: Command, io: CliIo): void {
  program
    .command('doctor')
    .description('Check this machine: Node, ONNX Runtime and its execution providers, threads, codecs, the models directory and its files')
    .option('--models-dir <dir>', 'models directory (default: $SUPERRES_MODELS_DIR, else ~/.cache/superres/models)')
    .option('--no-verify', 'skip re-hashing the installed weights')
    .option('--json', 'print JSON', false)
    .addHelpText('after', '\nExamples:\n  superres doctor\n  superres doctor --no-verify --json')
    .action(async (flags: { modelsDir?: string; verify: boolean; json: boolean }) => {
      const checks = await runDoctor(flags);
      if (flags.json) io.stdout(`${JSON.stringify({ checks }, null, 2)}\n`);
      else {
        const width = Math.max(...checks.map((c) => c.name.length));
        for (const c of checks) {
          io.stdout(`${MARK[c.status]}  ${c.name.padEnd(width)}  ${c.detail}\n`);
          if (c.fix) io.stdout(`      ${' '.repeat(width)}  fix: ${c.fix}\n`);
        }
      }
      const failed = checks.filter((c) => c.status === 'fail').length;
      if (failed > 0) throw new DoctorFailed(failed);
    });
}

export class DoctorFailed extends Error {
  constructor(readonly failed: number) {
    super(`${failed} check(s) failed`);
    this.name = 'DoctorFailed';
  }
}
