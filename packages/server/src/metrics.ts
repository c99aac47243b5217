/**
 * Prometheus metrics, one registry per server instance (several servers may live in one test
 * process). The process and Node metrics keep prom-client's standard names (process_*, nodejs_*)
 * so standard dashboards work; ours are superres_*. Queue depth counts jobs this process enqueued
 * or runs: exact with the embedded queue, this process's share with Redis.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type JobOutcome = 'success' | 'error';

export interface Metrics {
  registry: Registry;
  requests: Counter<'method' | 'route' | 'status'>;
  requestDuration: Histogram<'method' | 'route'>;
  /** Jobs accepted (submitted and recorded). */
  jobsSubmitted: Counter;
  /** Finished jobs by outcome. */
  jobs: Counter<'outcome'>;
  jobDuration: Histogram<'outcome'>;
  /** Jobs waiting (enqueued here, not started) and running in this process. */
  stats: { waiting: number; active: number; completed: number; failed: number };
  /** Mean seconds per finished job (for eta and retry_after), default 10 until one finished. */
  meanSeconds(): number;
  /** One answered HTTP request; `route` is the route's pattern (never a URL with its query). */
  requestDone(method: string, route: string, status: number, seconds: number): void;
  jobQueued(): void;
  jobStarted(): void;
  jobEnded(): void;
  jobFinished(outcome: JobOutcome, seconds: number | undefined): void;
}

/**
 * prom-client names three gauges `*_total`, which Prometheus keeps for counters (promtool flags
 * them): they are left out; every other default metric keeps its standard name.
 */
const MISNAMED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry });
    for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(name);
  }
  const stats = { waiting: 0, active: 0, completed: 0, failed: 0 };
  let totalSeconds = 0;
  let finished = 0;
  const requests = new Counter({
    name: 'superres_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const requestDuration = new Histogram({
    name: 'superres_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method and route pattern',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const jobsSubmitted = new Counter({
    name: 'superres_jobs_submitted_total',
    help: 'Jobs accepted into the queue',
    registers: [registry],
  });
  const jobs = new Counter({
    name: 'superres_jobs_finished_total',
    help: 'Finished jobs by outcome (success, error)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const jobDuration = new Histogram({
    name: 'superres_job_duration_seconds',
    help: 'Processing time of finished jobs, by outcome',
    labelNames: ['outcome'] as const,
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
    requestDuration,
    jobsSubmitted,
    jobs,
    jobDuration,
    stats,
    meanSeconds: () => (finished === 0 ? 10 : totalSeconds / finished),
    requestDone(method, route, status, seconds) {
      requests.inc({ method, route, status: String(status) });
      requestDuration.observe({ method, route }, seconds);
    },
    jobQueued() {
      stats.waiting += 1;
      jobsSubmitted.inc();
    },
    jobStarted() {
      stats.waiting = Math.max(0, stats.waiting - 1);
      stats.active += 1;
    },
    jobEnded() {
      stats.active = Math.max(0, stats.active - 1);
    },
    jobFinished(outcome, seconds) {
      if (outcome === 'success') stats.completed += 1;
      else stats.failed += 1;
      jobs.inc({ outcome });
      if (seconds !== undefined) {
        jobDuration.observe({ outcome }, seconds);
        totalSeconds += seconds;
        finished += 1;
      }
    },
  };
}
