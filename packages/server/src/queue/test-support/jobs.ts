/** Test support: job records and trivial processors (the queue is under test, not the upscaler). */
import type { JobProcessor, JobRecord } from '../../contracts.js';

let counter = 0;

export function makeJob(overrides: Partial<JobRecord> = {}): JobRecord {
  counter++;
  return {
    id: `job-${process.pid}-${Date.now().toString(36)}-${counter}`,
    keyId: 'key-a',
    status: 'queued',
    input: { url: 'http://127.0.0.1/in.png', modelId: 'realesr-general-x4v3', faceEnhance: false },
    createdAt: Date.now(),
    attempts: 0,
    ...overrides,
  };
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/** A processor that sleeps `ms` (honouring the signal) and returns `http://x/<id>`; it logs what it did. */
export function sleepyProcessor(ms: number) {
  const started: string[] = [];
  const completed: string[] = [];
  let active = 0;
  let maxActive = 0;
  const processor: JobProcessor = async (job, signal) => {
    started.push(job.id);
    active++;
    maxActive = Math.max(maxActive, active);
    try {
      await sleep(ms, signal);
      completed.push(job.id);
      return { output: `http://x/${job.id}`, generationTime: ms / 1000 };
    } finally {
      active--;
    }
  };
  return {
    processor,
    started,
    completed,
    get maxActive() {
      return maxActive;
    },
  };
}
