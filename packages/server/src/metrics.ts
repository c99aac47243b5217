/**
 * Prometheus metrics, one registry per server instance (several servers may live in one test
 * process). Queue depth counts jobs this process enqueued or runs: exact with the embedded
 * queue, this process's share with Redis.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  requests: Counter<'method' | 'route' | 'status'>;
  jobs: Counter<'status'>;
  jobDuration: Histogram<'status'>;
  /** Jobs waiting (enqueued here, not started) and running in this process. */
  stats: { waiting: number; active: number; completed: number; failed: number };
  /** Mean seconds per finished job (for eta and retry_after), default 10 until one finished. */
  meanSeconds(): number;
  jobQueued(): void;
  jobStarted(): void;
  jobEnded(): void;
  jobFinished(status: 'success' | 'error', seconds: number | undefined): void;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'superres_' });
  const stats = { waiting: 0, active: 0, completed: 0, failed: 0 };
  let totalSeconds = 0;
  let finished = 0;
  const requests = new Counter({
    name: 'superres_http_requests_total',
    help: 'HTTP requests answered, by method, route and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const jobs = new Counter({
    name: 'superres_jobs_total',
    help: 'Jobs by status: queued (submitted), success, error',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const jobDuration = new Histogram({
    name: 'superres_job_duration_seconds',
    help: 'Processing time of finished jobs',
    labelNames: ['status'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [registry],
  });
  new Gauge({
    name: 'superres_queue_depth',
    help: 'Jobs waiting to run',
    registers: [registry],
    collect() {
      this.set(stats.waiting);
    },
  });
  new Gauge({
    name: 'superres_jobs_active',
    help: 'Jobs running in this process',
    registers: [registry],
    collect() {
      this.set(stats.active);
    },
  });
  return {
    registry,
    requests,
    jobs,
    jobDuration,
    stats,
    meanSeconds: () => (finished === 0 ? 10 : totalSeconds / finished),
    jobQueued() {
      stats.waiting += 1;
      jobs.inc({ status: 'queued' });
    },
    jobStarted() {
      stats.waiting = Math.max(0, stats.waiting - 1);
      stats.active += 1;
    },
    jobEnded() {
      stats.active = Math.max(0, stats.active - 1);
    },
    jobFinished(status, seconds) {
      if (status === 'success') stats.completed += 1;
      else stats.failed += 1;
      jobs.inc({ status });
      if (seconds !== undefined) {
        jobDuration.observe({ status }, seconds);
        totalSeconds += seconds;
        finished += 1;
      }
    },
  };
}
