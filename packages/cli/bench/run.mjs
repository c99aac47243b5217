// `pnpm bench`: speed and peak memory of the converter and the upscale pipeline on this machine.
// Each case runs in its own process; results go to stdout and bench/results/<date>.json.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');
const fixtures = resolve(repoRoot, process.env.SUPERRES_FIXTURES ?? '../shared/fixtures');
const weights = join(fixtures, 'weights/realesr-animevideov3.pth');
const require = createRequire(import.meta.url);
const version = (pkg) => require(`${pkg}/package.json`).version;

const cases = [
  { name: 'convert realesr-animevideov3.pth to ONNX', args: ['convert', weights, '', '0', '0', '5'] },
  { name: 'x4 baby 126x126, whole image', args: ['upscale', weights, join(fixtures, 'images/set5/LRx4/baby.png'), '0', '0', '5'] },
  { name: 'x4 baby 126x126, tile 64 pad 18', args: ['upscale', weights, join(fixtures, 'images/set5/LRx4/baby.png'), '64', '18', '5'] },
  { name: 'x4 OST_009 448x640, whole image', args: ['upscale', weights, join(fixtures, 'images/realesrgan/OST_009.png'), '0', '0', '1'] },
  { name: 'x4 OST_009 448x640, tile 128 pad 18', args: ['upscale', weights, join(fixtures, 'images/realesrgan/OST_009.png'), '128', '18', '1'] },
];

const machine = {
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  onnxruntimeNode: version('onnxruntime-node'),
  sharp: require('sharp').versions.sharp,
  libvips: require('sharp').versions.vips,
  threads: 2,
};
console.log(`machine: ${JSON.stringify(machine)}`);
const results = [];
for (const c of cases) {
  const out = execFileSync(process.execPath, [join(here, 'case.mjs'), ...c.args], { encoding: 'utf8' });
  const r = JSON.parse(out.trim().split('\n').pop());
  results.push({ case: c.name, ...r });
  const rate = r.outputMegapixelsPerSecond ? `, ${r.outputMegapixelsPerSecond.toFixed(2)} output MP/s` : '';
  console.log(`${c.name}: median ${r.medianMs.toFixed(1)} ms over ${r.runs}${rate}, peak RSS ${r.peakRssMiB.toFixed(0)} MiB`);
}
const dir = join(repoRoot, 'bench/results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `${new Date().toISOString().slice(0, 10)}.json`);
writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), machine, results }, null, 2)}\n`);
console.log(`written ${file}`);
