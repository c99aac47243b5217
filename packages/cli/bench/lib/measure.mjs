// Small measuring helpers shared by the bench cases (each case runs in its own process).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const MiB = 1024 * 1024;

/** Linux: resets the peak RSS (VmHWM) so the next peak is the coming work's own. */
export function resetPeakRss() {
  if (existsSync('/proc/self/clear_refs')) writeFileSync('/proc/self/clear_refs', '5');
}

/** Peak RSS in bytes since the last reset (Linux), else since the process started. */
export function peakRss() {
  if (existsSync('/proc/self/status')) {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kb) return Number(kb) * 1024;
  }
  return process.resourceUsage().maxRSS * 1024;
}

/** Times `fn` `runs` times after `warmup` untimed runs; milliseconds. */
export async function timeRuns(fn, { runs = 3, warmup = 1 } = {}) {
  for (let i = 0; i < warmup; i++) await fn();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return { medianMs: median(times), runs, timesMs: times };
}

/** The one line of JSON a case prints for the orchestrator. */
export function report(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
