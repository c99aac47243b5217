// Installs the system packages the test suite needs (python3-onnx, redis-server, prometheus, chromium) when they are
// missing. Runs as root on CI and fresh machines; elsewhere it says what to install and goes on.
import { execFileSync, spawnSync } from 'node:child_process';

const PYTHON = '/usr/bin/python3';
const needs = [
  { pkg: 'python3-onnx', check: [PYTHON, ['-c', 'import onnx']] },
  // The server's queue tests run a real Redis on a loopback port.
  { pkg: 'redis-server', check: ['redis-server', ['--version']] },
  // promtool lints /metrics in the server's tests.
  { pkg: 'prometheus', check: ['promtool', ['--version']] },
  // The browser demo's end-to-end tests drive Debian's Chromium (never a downloaded one).
  { pkg: 'chromium', check: ['/usr/bin/chromium', ['--version']] },
];

function ok([cmd, args]) {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

const missing = needs.filter((n) => !ok(n.check)).map((n) => n.pkg);
if (missing.length === 0) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot) {
  console.warn(`test-setup: missing Debian packages ${missing.join(' ')}; install them as root (apt-get install -y --no-install-recommends ${missing.join(' ')}).`);
  process.exit(0);
}
console.log(`test-setup: installing ${missing.join(' ')} with apt-get`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
