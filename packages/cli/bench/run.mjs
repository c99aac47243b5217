// `pnpm bench`: speed and memory of superres on this machine. Every case runs in its own process
// (its peak RSS is its own); results go to bench/results/<date>.json and BENCHMARKS.md.
//   pnpm bench                      every section
//   pnpm bench -- --only engine     sections: basics, engine, server, seams, speed (PyTorch side by side),
//                                   architectures (the modern ones at published sizes, PyTorch side by side)
//   pnpm bench -- --runs 5          timed runs per case (median reported)
//   pnpm bench -- --server-passes 3 passes over the server configurations (mean reported)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { renderMarkdown } from './lib/markdown.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');
const fixtures = resolve(repoRoot, process.env.SUPERRES_FIXTURES ?? '../shared/fixtures');
const weights = join(fixtures, 'weights/realesr-animevideov3.pth');
const baby = join(fixtures, 'images/set5/LRx4/baby.png');
const ost = join(fixtures, 'images/realesrgan/OST_009.png');
const bin = join(repoRoot, 'packages/cli/dist/bin.js');
const require = createRequire(import.meta.url);
const version = (pkg) => require(`${pkg}/package.json`).version;

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const sections = new Set((flag('only', 'basics,engine,server,seams,speed,architectures')).split(','));
const runs = flag('runs', '3');

for (const [what, path] of [['weights', weights], ['image', ost], ['built CLI (pnpm build)', bin]]) {
  if (!existsSync(path)) {
    console.error(`bench: missing ${what}: ${path}`);
    process.exit(2);
  }
}

const sharp = require('sharp');
const machine = {
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  onnxruntimeNode: version('onnxruntime-node'),
  sharp: sharp.versions.sharp,
  libvips: sharp.versions.vips,
};
console.log(`machine: ${JSON.stringify(machine)}`);
const work = mkdtempSync(join(tmpdir(), 'superres-bench-'));

/** Runs one case script in a fresh process; returns its JSON line. */
function runCase(script, caseArgs, env = {}) {
  const out = execFileSync(process.execPath, [join(here, 'cases', script), ...caseArgs], {
    encoding: 'utf8',
    cwd: here,
    env: { ...process.env, ...env },
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(out.trim().split('\n').pop());
}

const results = { date: new Date().toISOString(), command: `pnpm bench ${args.join(' ')}`.trim(), machine, runs: Number(runs) };

if (sections.has('basics')) {
  console.log('\n# basics');
  results.basics = {
    convert: runCase('basics.mjs', ['convert', weights, '', '5']),
    babyWhole: runCase('basics.mjs', ['upscale', weights, baby, runs]),
  };
  console.log(JSON.stringify(results.basics));
}

if (sections.has('engine')) {
  console.log('\n# engine');
  const eventLoop = runCase('event-loop.mjs', [weights, ost]);
  console.log(`event loop during an upscale of OST_009: max ${eventLoop.maxDelayMs.toFixed(1)} ms, p99 ${eventLoop.p99DelayMs.toFixed(1)} ms`);

  // Alternating contenders: every pass runs each tile size once (a fresh process each), and each
  // size's time is the median over the passes, so a noisy minute hits every size alike.
  const tiles = [0, 512, 384, 256, 192, 128, 96, 64];
  const passes = tiles.map(() => []);
  for (let pass = 0; pass < Number(runs); pass++) {
    tiles.forEach((tile, i) => passes[i].push(runCase('tile-curve.mjs', [weights, ost, String(tile), '1'])));
  }
  const curve = tiles.map((tile, i) => {
    const points = passes[i];
    const times = points.map((p) => p.medianMs).sort((a, b) => a - b);
    const point = { ...points[0], medianMs: times[Math.floor(times.length / 2)], timesMs: times, runs: times.length, peakRss: Math.max(...points.map((p) => p.peakRss)) };
    console.log(`tile ${tile}: ${point.medianMs.toFixed(0)} ms (${times.map((t) => t.toFixed(0)).join(', ')}), peak RSS ${(point.peakRss / 2 ** 20).toFixed(0)} MiB`);
    return point;
  });

  // 2000x1500 -> 8000x6000 with the CLI's defaults: the whole process's peak RSS.
  const big = join(work, 'photo-2000x1500.png');
  await sharp(join(fixtures, 'images/realesrgan/0014.jpg')).resize(2000, 1500, { fit: 'fill' }).png().toFile(big);
  const rssFile = join(work, 'rss.txt');
  const t0 = performance.now();
  const cli = spawnSync(process.execPath, ['--import', pathToFileURL(join(here, 'lib/rss-reporter.mjs')).href, bin, 'upscale', big, '-o', join(work, 'out.png'), '--model', weights, '-q'], {
    env: { ...process.env, SUPERRES_BENCH_RSS_OUT: rssFile },
    encoding: 'utf8',
  });
  if (cli.status !== 0) throw new Error(`CLI failed: ${cli.stderr}`);
  const largeOutput = {
    input: '2000x1500',
    output: '8000x6000',
    outputBytes: 8000 * 6000 * 3,
    peakRss: Number(readFileSync(rssFile, 'utf8')),
    seconds: (performance.now() - t0) / 1000,
  };
  console.log(`8000x6000: peak RSS ${(largeOutput.peakRss / 1e6).toFixed(0)} MB, ${largeOutput.seconds.toFixed(1)} s`);
  results.engine = { eventLoop, tileCurve: curve, largeOutput };
}

if (sections.has('server')) {
  console.log('\n# server throughput');
  const configs = [
    [1, 2, 1],
    [1, 2, 2],
    [2, 1, 2],
    [2, 1, 4],
  ];
  // Alternating contenders: each pass runs every configuration once; the figures are the means.
  const passes = Number(flag('server-passes', '2'));
  const seen = configs.map(() => []);
  for (let pass = 0; pass < passes; pass++) {
    configs.forEach(([workers, threads, concurrency], i) => {
      seen[i].push(runCase('server-throughput.mjs', [bin, weights, baby, String(workers), String(threads), String(concurrency), '200', '8']));
    });
  }
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  results.server = seen.map((rs) => ({
    ...rs[0],
    passes: rs.length,
    requestsPerSecond: mean(rs.map((r) => r.requestsPerSecond)),
    requestsPerSecondByPass: rs.map((r) => r.requestsPerSecond),
    p50Ms: mean(rs.map((r) => r.p50Ms)),
    p99Ms: mean(rs.map((r) => r.p99Ms)),
    failed: rs.reduce((sum, r) => sum + r.failed, 0),
    requests: rs.reduce((sum, r) => sum + r.requests, 0),
  }));
  for (const r of results.server) {
    console.log(`${r.workers} worker(s) x ${r.threads} thread(s), concurrency ${r.concurrency}: ${r.requestsPerSecond.toFixed(2)} req/s (${r.requestsPerSecondByPass.map((x) => x.toFixed(2)).join(', ')}), p50 ${(r.p50Ms / 1000).toFixed(2)} s, p99 ${(r.p99Ms / 1000).toFixed(2)} s, failed ${r.failed}`);
  }
}

if (sections.has('seams')) {
  console.log('\n# seam error of pads below the receptive radius');
  results.seams = runCase('seam-error.mjs', [weights, ost]).rows;
  for (const r of results.seams) console.log(`${r.model} tile ${r.tile} pad ${r.pad}: max ${r.max}, mean ${r.mean.toFixed(4)}`);
}

if (sections.has('speed')) {
  console.log('\n# speed');
  const python = '/usr/bin/python3';
  const torchScript = join(repoRoot, 'tools/reference/bench_torch.py');
  const torchCheck = spawnSync(python, ['-c', 'import torch, numpy, PIL'], { encoding: 'utf8' });
  const torch = torchCheck.status === 0 ? undefined : `PyTorch is not installed (apt-get install python3-torch python3-numpy python3-pil; run as ${python})`;
  const timeProcess = (cmd, cmdArgs) => {
    const t0 = performance.now();
    const r = spawnSync(cmd, cmdArgs, { encoding: 'utf8', env: { ...process.env, SUPERRES_BENCH_THREADS: '2' } });
    if (r.status !== 0) throw new Error(`${cmd} ${cmdArgs.join(' ')} failed: ${r.stderr}`);
    return performance.now() - t0;
  };
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

  // Whole process, alternating contenders: superres' CLI against Real-ESRGAN's path in PyTorch.
  const wholeProcess = [];
  for (const [name, image] of [['OST_009.png 448x640', ost], ['baby.png 126x126', baby]]) {
    const ours = [];
    const theirs = [];
    for (let r = 0; r < Number(runs); r++) {
      ours.push(timeProcess(process.execPath, [bin, 'upscale', image, '-o', join(work, 'ours.png'), '--model', weights, '-q']));
      if (!torch) theirs.push(timeProcess(python, [torchScript, 'upscale', '--weights', weights, '--input', image, '--output', join(work, 'theirs.png')]));
    }
    const row = { image: name, oursMs: median(ours), oursRunsMs: ours, ...(torch ? { torchSkipped: torch } : { torchMs: median(theirs), torchRunsMs: theirs }) };
    wholeProcess.push(row);
    console.log(`${name}: superres ${(row.oursMs / 1000).toFixed(2)} s${row.torchMs ? `, PyTorch ${(row.torchMs / 1000).toFixed(2)} s, ${(row.torchMs / row.oursMs).toFixed(2)}x` : ` (${torch})`}`);
  }

  // Where a run's time goes (in-process), for the pipeline-overhead target.
  const mp1 = join(work, 'photo-1000x1000.png');
  await sharp(join(fixtures, 'images/realesrgan/0014.jpg')).resize(1000, 1000, { fit: 'fill' }).png().toFile(mp1);
  const phases = [];
  for (const image of [ost, mp1]) {
    const points = Array.from({ length: Number(runs) }, () => runCase('pipeline-phases.mjs', [weights, image, join(work, 'phases.png')]));
    const best = points.sort((a, b) => a.totalMs - b.totalMs)[Math.floor(points.length / 2)];
    phases.push(best);
    console.log(`phases ${best.input}: total ${best.totalMs.toFixed(0)} ms, ONNX Runtime ${best.runMs.toFixed(0)} ms, encode ${best.encodeMs.toFixed(0)} ms`);
  }

  // The architectures, each cell alternating superres and PyTorch; long cells run fewer times.
  const cells = [];
  const sizes = [[128, 128], [512, 512], [1024, 768]];
  for (const arch of ['srvgg16', 'srvgg32', 'rrdb6', 'rrdb23']) {
    for (const [w, h] of sizes) {
      const heavy = arch.startsWith('rrdb') ? Number(arch.slice(4)) * w * h : 0;
      const cellRuns = heavy > 6 * 512 * 512 ? 1 : heavy > 0 ? Math.min(3, Number(runs)) : Number(runs);
      // Whole-image RRDBNet at 1024x768 needs about 13 GB of activations: superres tiles it.
      const tiled = arch.startsWith('rrdb') && w * h > 512 * 512;
      const ours = runCase('arch-infer.mjs', [arch, String(w), String(h), String(cellRuns), tiled ? 'tiled' : 'whole']);
      let theirs;
      if (torch) theirs = { skipped: torch };
      else if (tiled) theirs = { skipped: 'not run: a whole-image forward pass needs about 13 GB and minutes per run' };
      else {
        const out = execFileSync(python, [torchScript, 'infer', '--arch', arch, '--width', String(w), '--height', String(h), '--runs', String(cellRuns)], {
          encoding: 'utf8',
          env: { ...process.env, SUPERRES_BENCH_THREADS: '2' },
        });
        theirs = JSON.parse(out.trim().split('\n').pop());
      }
      cells.push({ ...ours, torch: theirs });
      console.log(`${arch} ${w}x${h}: ${(ours.medianMs / 1000).toFixed(2)} s, ${ours.gflopPerSecond.toFixed(0)} GFLOP/s${theirs.medianMs ? `, PyTorch ${(theirs.medianMs / 1000).toFixed(2)} s` : ''}`);
    }
  }
  const bare = sizes.map(([w, h]) => runCase('bare-conv.mjs', [String(w), String(h), runs]));
  for (const b of bare) console.log(`bare 64->64 convolutions ${b.size}: ${b.gflopPerSecond.toFixed(0)} GFLOP/s`);
  const mhz = Number(/cpu MHz\s*:\s*([\d.]+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 0);
  results.speed = {
    wholeProcess,
    phases,
    cells,
    bare,
    // 2 AVX-512 FMA units x 16 float32 lanes x 2 FLOPs, at the clock the kernel reports: an assumption about the CPU.
    peak: { mhz, flopPerCycle: 64, cores: cpus().length, gflopPerSecond: (mhz * 64 * cpus().length) / 1000 },
  };
}

if (sections.has('architectures')) {
  console.log('\n# architectures');
  const python = '/usr/bin/python3';
  const torchScript = join(repoRoot, 'tools/reference/bench_torch.py');
  const torchCheck = spawnSync(python, ['-c', 'import torch, numpy, PIL'], { encoding: 'utf8' });
  const env = { ...process.env, SUPERRES_BENCH_THREADS: '2' };
  if (torchCheck.status !== 0) {
    // The checkpoints come from the PyTorch reference implementations: nothing to convert without it.
    results.architectures = { skipped: `PyTorch is not installed (apt-get install python3-torch python3-numpy python3-pil; run as ${python})` };
  } else {
    const rows = [];
    const [w, h] = [128, 128];
    for (const arch of ['span', 'plksr', 'realplksr', 'omnisr', 'swinir-light', 'swinir-m', 'hat', 'dat-light', 'dat']) {
      // Transformers at published sizes take seconds per 128x128 forward pass: fewer runs.
      const cellRuns = ['swinir-m', 'hat', 'dat'].includes(arch) ? Math.min(2, Number(runs)) : Number(runs);
      const file = join(work, `${arch}.pth`);
      execFileSync(python, [torchScript, 'save', '--arch', arch, '--output', file], { env });
      const ours = runCase('checkpoint-infer.mjs', [file, String(w), String(h), String(cellRuns)]);
      const out = execFileSync(python, [torchScript, 'infer', '--arch', arch, '--width', String(w), '--height', String(h), '--runs', String(cellRuns)], { encoding: 'utf8', env });
      const theirs = JSON.parse(out.trim().split('\n').pop());
      rows.push({ name: arch, ...ours, torch: theirs });
      rmSync(file, { force: true });
      console.log(`${arch} (${ours.architecture}) ${ours.size}: convert ${(ours.convertMs / 1000).toFixed(2)} s, run ${(ours.medianMs / 1000).toFixed(2)} s, PyTorch ${(theirs.medianMs / 1000).toFixed(2)} s`);
    }
    results.architectures = { rows };
  }
}

rmSync(work, { recursive: true, force: true });
const dir = join(repoRoot, 'bench/results');
mkdirSync(dir, { recursive: true });
const measured = Object.fromEntries(['basics', 'engine', 'server', 'seams', 'speed', 'architectures'].filter((s) => results[s]).map((s) => [s, results.date]));
/** `over` with this run's sections laid on top, each section dated. */
const merged = (over) => ({ ...over, ...results, sectionDates: { ...over.sectionDates, ...measured } });
const readJson = (path) => (existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : {});
// The day's file keeps the sections of the day's earlier partial runs (--only).
const file = join(dir, `${results.date.slice(0, 10)}.json`);
writeFileSync(file, `${JSON.stringify(merged(readJson(file)), null, 2)}\n`);
// BENCHMARKS.md shows the newest measurement of every section: a partial run (--only) keeps the
// other sections from the run before it, each with the date it was measured.
const latestFile = join(dir, 'latest.json');
const latest = merged(readJson(latestFile));
writeFileSync(latestFile, `${JSON.stringify(latest, null, 2)}\n`);
writeFileSync(join(repoRoot, 'BENCHMARKS.md'), renderMarkdown(latest));
console.log(`\nwritten ${file}, ${latestFile} and BENCHMARKS.md`);
