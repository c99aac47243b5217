// Runs the test suite again on Node 22 LTS (the suite's own `pnpm test` runs on the Node that
// started it, 20 here). Node 22 comes from the npm registry's `node` package, installed once into
// a cache directory; child processes the tests start (`process.execPath`, `node` on PATH) run on
// it too. The packages must be built already (`pnpm test` builds them).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

const VERSION = process.env.SUPERRES_TEST_NODE_VERSION ?? '22';
const cache = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'superres', `node-${VERSION}`);
const bin = join(cache, 'node_modules', '.bin', 'node');

if (!existsSync(bin)) {
  mkdirSync(cache, { recursive: true });
  console.log(`test-node22: installing node@${VERSION} from the npm registry into ${cache}`);
  execFileSync('npm', ['install', '--prefix', cache, '--no-audit', '--no-fund', '--no-save', `node@${VERSION}`], { stdio: 'inherit' });
}
const version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
console.log(`test-node22: running the suite on Node ${version}`);
const env = { ...process.env, PATH: `${dirname(bin)}${delimiter}${process.env.PATH ?? ''}` };
const run = spawnSync(bin, ['node_modules/vitest/vitest.mjs', 'run'], { stdio: 'inherit', env });
process.exit(run.status ?? 1);
