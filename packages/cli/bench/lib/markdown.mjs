// BENCHMARKS.md from one bench run's results: each table with the target it answers and whether
// the measurement meets it. Numbers are claims about the machine named at the top, nothing more.
const MiB = 1024 * 1024;
const mib = (b) => `${(b / MiB).toFixed(0)} MiB`;
const mb = (b) => `${(b / 1e6).toFixed(0)} MB`;
const ms = (x) => `${x.toFixed(0)} ms`;
const met = (ok) => (ok ? '**met**' : '**not met**');

function table(header, rows) {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function renderMarkdown(r) {
  const out = [];
  const when = (section) => (r.sectionDates?.[section] ? `Measured ${r.sectionDates[section].slice(0, 10)}.` : '');
  out.push('# Benchmarks');
  out.push('');
  out.push(`Written by \`${r.command}\` on ${r.date.slice(0, 10)} (${r.date}). Regenerate with \`pnpm bench\` after \`pnpm install\`;`);
  out.push('numbers hold for this machine only. Medians of ' + r.runs + ' timed runs after one warm-up where a time is given.');
  out.push('');
  out.push(table(['machine', ''], Object.entries(r.machine).map(([k, v]) => [k, String(v)])));

  if (r.basics) {
    out.push('', '## Basics', '', when('basics'), '');
    out.push(table(['case', 'median', 'peak RSS', 'notes'], [
      ['convert realesr-animevideov3.pth to ONNX', ms(r.basics.convert.medianMs), mib(r.basics.convert.peakRss), ''],
      ['upscale baby.png 126x126 x4 (defaults: whole image)', ms(r.basics.babyWhole.medianMs), mib(r.basics.babyWhole.peakRss), `${r.basics.babyWhole.outputMegapixelsPerSecond.toFixed(2)} output MP/s; model load ${ms(r.basics.babyWhole.loadMs)}`],
    ]));
  }

  if (r.engine) {
    const { eventLoop: e, tileCurve, largeOutput: big } = r.engine;
    out.push('', '## Engine', '', when('engine'), '');
    out.push('### Event-loop delay during a job');
    out.push('');
    out.push(`\`upscale()\` of OST_009.png (${e.input} -> ${e.output}) with the default options (tile ${e.tile === 0 ? 'whole image' : e.tile}, pad ${e.tilePad}), measured with`);
    out.push('`perf_hooks.monitorEventLoopDelay` on the calling thread while the model runs in a worker. Target: never blocked more than 50 ms.');
    out.push('');
    out.push(table(['upscale', 'max delay', 'p99 delay', 'mean delay', 'target'], [
      [ms(e.upscaleMs), `${e.maxDelayMs.toFixed(1)} ms`, `${e.p99DelayMs.toFixed(1)} ms`, `${e.meanDelayMs.toFixed(1)} ms`, met(e.maxDelayMs <= 50)],
    ]));
    out.push('', '### Tile-size curve');
    out.push('');
    out.push('OST_009.png x4 with realesr-animevideov3, tile pad `auto` (18, the receptive radius: every tile size gives the same pixels).');
    out.push('Each pass runs every size once, in a fresh process (one warm-up, one timed run); the time is the median over the');
    out.push('passes. Peak RSS is the whole process (Node, the worker, ONNX Runtime, input and output images), the largest seen.');
    out.push('');
    const whole = tileCurve.find((p) => p.tile === 0);
    out.push(table(['tile', 'time', 'vs whole image', 'peak RSS'], tileCurve.map((p) => [
      p.tile === 0 ? 'whole image' : String(p.tile),
      ms(p.medianMs),
      whole ? `${p.medianMs >= whole.medianMs ? '+' : ''}${((p.medianMs / whole.medianMs - 1) * 100).toFixed(0)}%` : '',
      mib(p.peakRss),
    ])));
    out.push('', '### Peak memory of an 8000x6000 output');
    out.push('');
    out.push('`superres upscale` of a 2000x1500 photo with realesr-animevideov3 and the default options (tile `auto` in the');
    out.push('default 128 MiB budget, PNG written straight to disk). Target: peak RSS <= output bytes + 300 MB.');
    out.push('');
    out.push(table(['output', 'output bytes', 'peak RSS', 'target', '', 'time'], [
      [big.output, mb(big.outputBytes), mb(big.peakRss), mb(big.outputBytes + 300e6), met(big.peakRss <= big.outputBytes + 300e6), `${big.seconds.toFixed(1)} s`],
    ]));
  }

  if (r.server) {
    out.push('', '## Server throughput', '', when('server'), '');
    out.push('The built `superres serve` on loopback, baby.png (126x126) x4 with realesr-animevideov3, 200 requests from 8');
    out.push('concurrent clients, each waiting for its result (`super_resolution` answers when the job is done). Each pass');
    out.push('runs every configuration once; figures are means over the passes (requests/s of each pass in brackets).');
    out.push('Before the engine (one job at a time, inference on the HTTP thread) the same load gave 2.5 requests/s, p50 3.1 s (measured when the engine issue was filed).');
    out.push('');
    out.push(table(['workers x threads', 'jobs at once', 'requests/s', 'p50', 'p99', 'failed'], r.server.map((s) => [
      `${s.workers} x ${s.threads}`,
      String(s.concurrency),
      `${s.requestsPerSecond.toFixed(2)}${s.requestsPerSecondByPass ? ` (${s.requestsPerSecondByPass.map((x) => x.toFixed(2)).join(', ')})` : ''}`,
      `${(s.p50Ms / 1000).toFixed(2)} s`,
      `${(s.p99Ms / 1000).toFixed(2)} s`,
      String(s.failed),
    ])));
  }

  if (r.seams) {
    out.push('', '## Seam error of the capped tile pad', '', when('seams'), '');
    out.push('Tiles of 64 with a pad below the receptive radius against the whole image (8-bit samples; a pad at or over the');
    out.push('radius gives 0). `auto` caps the pad at 32. The RRDBNet rows use random weights: they show how the error decays');
    out.push('with the pad, not what the official x4plus (radius 349) would give, whose weights are not available here.');
    out.push('');
    out.push(table(['model', 'pad', 'max error', 'mean error', 'samples differing'], r.seams.map((s) => [
      s.model,
      String(s.pad),
      `${s.max}/255`,
      `${s.mean.toFixed(4)}/255`,
      `${(s.differingShare * 100).toFixed(2)}%`,
    ])));
  }
  return `${out.join('\n')}\n`;
}
