/**
 * What the jobs running in this process have done and how long they still need, from the
 * pipeline's measured throughput (for `eta` in `processing` answers). In memory: with Redis,
 * each API process knows the jobs its own worker runs.
 */
export interface JobProgress {
  /** Records a job's latest estimate of the milliseconds it has left. */
  report(jobId: string, etaMs: number): void;
  /** Seconds left for a job running here, or undefined when this process knows nothing of it. */
  secondsLeft(jobId: string): number | undefined;
  forget(jobId: string): void;
}

export function createJobProgress(): JobProgress {
  const reports = new Map<string, { etaMs: number; at: number }>();
  return {
    report(jobId, etaMs) {
      reports.set(jobId, { etaMs, at: Date.now() });
    },
    secondsLeft(jobId) {
      const r = reports.get(jobId);
      if (!r) return undefined;
      // The estimate ages with the clock until the next tile updates it.
      return Math.max(0, (r.etaMs - (Date.now() - r.at)) / 1000);
    },
    forget(jobId) {
      reports.delete(jobId);
    },
  };
}
