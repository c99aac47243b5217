/**
 * The architecture registry: an ordered list of architecture modules. Detection tries each in
 * order (a module's `before` moves it ahead of the ones it names), first on the tensor names as
 * they are, then with a training wrapper's prefix removed (`module.` from DataParallel, `netG.`,
 * ...). When nothing matches, the error ranks the closest candidates by how much of their
 * signature the tensors show, and names the tensors each could not place.
 */
import { InvalidOptionError, UnsupportedArchitectureError } from '@superres/core';
import type { StateDict } from '../checkpoint/types.js';
import type { Architecture, ArchitectureOverrides, BuiltGraph, DetectedArchitecture } from './architecture.js';

/** Prefixes training code puts before every tensor name, tried (and repeated) when nothing matches as is. */
export const WRAPPER_PREFIXES: readonly string[] = ['module.', '_orig_mod.', 'netG.', 'net_g.', 'generator.', 'model.', 'net.'];

export interface CandidateReport {
  architecture: string;
  /** Signature patterns some tensor matched, of all. */
  matched: number;
  total: number;
  /** Patterns no tensor matched, as names (`body.<n>.weight`). */
  missing: string[];
  /** Tensors no pattern of this architecture explains (at most 10 listed). */
  unexplained: string[];
  unexplainedCount: number;
}

export interface ArchitectureRegistry {
  /** Adds an architecture; a duplicate name, or `before` naming a cycle, is an InvalidOptionError. */
  register<H extends object>(architecture: Architecture<H>): void;
  /** The architectures in detection order. */
  list(): readonly Architecture[];
  detect(stateDict: StateDict, overrides?: ArchitectureOverrides): DetectedArchitecture;
  build(stateDict: StateDict, overrides?: ArchitectureOverrides): BuiltGraph;
  /** The architectures ranked by how well the tensors fit their signatures (for error messages). */
  candidates(stateDict: StateDict, limit?: number): CandidateReport[];
}

/** Tensor names with `prefix` removed, when every name has it. */
function stripped(stateDict: StateDict, prefix: string): StateDict | undefined {
  for (const key of stateDict.keys()) if (!key.startsWith(prefix)) return undefined;
  const out: StateDict = new Map();
  for (const [key, value] of stateDict) out.set(key.slice(prefix.length), value);
  return out;
}

/** The state dict as is, then each wrapper prefix (and prefix chain, `module.netG.`) removed. */
function* normalisations(stateDict: StateDict): Generator<{ stateDict: StateDict; prefix: string }> {
  yield { stateDict, prefix: '' };
  const queue = [{ stateDict, prefix: '' }];
  while (queue.length > 0) {
    const current = queue.shift()!;
    for (const wrapper of WRAPPER_PREFIXES) {
      const next = stripped(current.stateDict, wrapper);
      if (next && next.size > 0) {
        const found = { stateDict: next, prefix: current.prefix + wrapper };
        yield found;
        queue.push(found);
      }
    }
  }
}

/** Detection order: registration order, except that an architecture goes ahead of those it names in `before`. */
function ordered(architectures: readonly Architecture[]): Architecture[] {
  const byName = new Map(architectures.map((a) => [a.name, a]));
  const after = new Map<string, Set<string>>(architectures.map((a) => [a.name, new Set<string>()]));
  for (const a of architectures) for (const other of a.before ?? []) if (byName.has(other)) after.get(other)!.add(a.name);
  const out: Architecture[] = [];
  const placed = new Set<string>();
  while (out.length < architectures.length) {
    const next = architectures.find((a) => !placed.has(a.name) && [...after.get(a.name)!].every((n) => placed.has(n)));
    if (!next) {
      const stuck = architectures.filter((a) => !placed.has(a.name)).map((a) => a.name);
      throw new InvalidOptionError(`Architectures ${stuck.join(', ')} name each other in "before": no order satisfies them`, {
        details: { option: 'before', architectures: stuck },
      });
    }
    out.push(next);
    placed.add(next.name);
  }
  return out;
}

/** A pattern as a tensor name a person reads: `^body\\.\\d+\\.weight$` -> `body.<n>.weight`. */
export function readablePattern(source: string): string {
  return source
    .replace(/^\^|\$$/g, '')
    .replace(/\((?:\?:)?([^()|]*)(?:\|[^()]*)?\)/g, '$1')
    .replace(/\\d\+|\\d/g, '<n>')
    .replace(/\\\./g, '.');
}

function describeCandidates(reports: readonly CandidateReport[]): string {
  return reports
    .map((r) => {
      const missing = r.missing.length > 0 ? `; no tensor like ${r.missing.slice(0, 3).join(', ')}` : '';
      const extra = r.unexplainedCount > 0 ? `; ${r.unexplainedCount} tensor(s) it does not explain, e.g. ${r.unexplained.slice(0, 3).join(', ')}` : '';
      return `${r.architecture} (${r.matched}/${r.total} of its tensor patterns${missing}${extra})`;
    })
    .join('; ');
}

export function createArchitectureRegistry(initial: readonly Architecture[] = []): ArchitectureRegistry {
  const entries: Architecture[] = [];
  let order: Architecture[] = [];

  function candidates(stateDict: StateDict, limit = 3): CandidateReport[] {
    const reports: CandidateReport[] = [];
    for (const architecture of order) {
      let best: CandidateReport | undefined;
      for (const { stateDict: names } of normalisations(stateDict)) {
        const keys = [...names.keys()];
        const missing = architecture.signature.filter((pattern) => !keys.some((k) => pattern.test(k))).map((p) => readablePattern(p.source));
        const unexplained = keys.filter((k) => !architecture.signature.some((pattern) => pattern.test(k)));
        const report: CandidateReport = {
          architecture: architecture.name,
          matched: architecture.signature.length - missing.length,
          total: architecture.signature.length,
          missing,
          unexplained: unexplained.slice(0, 10),
          unexplainedCount: unexplained.length,
        };
        const score = (r: CandidateReport) => r.matched / Math.max(1, r.total) - r.unexplainedCount / Math.max(1, keys.length) / 2;
        if (!best || score(report) > score(best)) best = report;
      }
      if (best) reports.push(best);
    }
    const score = (r: CandidateReport) => r.matched / Math.max(1, r.total) - r.unexplainedCount / Math.max(1, stateDict.size) / 2;
    return reports.sort((a, b) => score(b) - score(a)).slice(0, limit);
  }

  function find(stateDict: StateDict, overrides: ArchitectureOverrides) {
    for (const { stateDict: names, prefix } of normalisations(stateDict)) {
      for (const architecture of order) {
        const hyperparameters = architecture.detect(names, overrides);
        if (hyperparameters !== undefined) return { architecture, hyperparameters, stateDict: names, prefix };
      }
    }
    const sample = [...stateDict.keys()].slice(0, 5).join(', ');
    const closest = candidates(stateDict);
    throw new UnsupportedArchitectureError(
      `No known architecture matches this state dict (${stateDict.size} tensors, first: ${sample || 'none'}). ` +
        `Closest: ${describeCandidates(closest) || 'none'}. Known: ${order.map((a) => a.name).join(', ')}`,
      { details: { candidates: closest, known: order.map((a) => a.name) } },
    );
  }

  function detected(found: ReturnType<typeof find>): DetectedArchitecture {
    const { architecture, hyperparameters, prefix } = found;
    const macs = architecture.macsPerOutputPixel?.(hyperparameters);
    return {
      architecture: architecture.name,
      kind: architecture.kind,
      hyperparameters: { ...hyperparameters } as Record<string, unknown>,
      geometry: architecture.geometry(hyperparameters),
      ...(macs === undefined ? {} : { macsPerOutputPixel: macs }),
      ...(prefix ? { strippedPrefix: prefix } : {}),
    };
  }

  const registry: ArchitectureRegistry = {
    register(added) {
      const architecture = added as Architecture;
      if (typeof architecture?.name !== 'string' || architecture.name === '') {
        throw new InvalidOptionError('An architecture needs a name', { details: { option: 'name' } });
      }
      for (const method of ['detect', 'geometry', 'build'] as const) {
        if (typeof architecture[method] !== 'function') {
          throw new InvalidOptionError(`Architecture ${architecture.name}: ${method} must be a function`, { details: { option: method } });
        }
      }
      if (!Array.isArray(architecture.signature) || !architecture.signature.every((p) => p instanceof RegExp)) {
        throw new InvalidOptionError(`Architecture ${architecture.name}: signature must be an array of regular expressions`, {
          details: { option: 'signature' },
        });
      }
      if (entries.some((a) => a.name === architecture.name)) {
        throw new InvalidOptionError(`An architecture named ${architecture.name} is already registered`, { details: { option: 'name' } });
      }
      const nextOrder = ordered([...entries, architecture]);
      entries.push(architecture);
      order = nextOrder;
    },
    list: () => [...order],
    detect: (stateDict, overrides = {}) => detected(find(stateDict, overrides)),
    build(stateDict, overrides = {}) {
      const found = find(stateDict, overrides);
      const onnx = found.architecture.build(found.stateDict, found.hyperparameters, overrides);
      return { ...detected(found), onnx };
    },
    candidates,
  };
  for (const architecture of initial) registry.register(architecture);
  return registry;
}
