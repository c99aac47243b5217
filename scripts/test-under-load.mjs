// The test suite on a saturated CPU: tests must wait for states, never for an amount of time,
// so they pass when the machine is busy. Starts busy-loop processes (twice the cores by
// default, SUPERRES_LOAD_PROCESSES to choose), runs vitest with the arguments given, then ends
// the busy loops by their PIDs. Usage: pnpm test:loaded [vitest args]
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

const count = Number(process.env.SUPERRES_LOAD_PROCESSES ?? 2 * availableParallelism());
const busy = Array.from({ length: count }, () =>
  spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }),
);
const stop = () => {
  for (const child of busy) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
};
process.on('exit', stop);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));
console.log(`test-under-load: ${count} busy-loop processes (PIDs ${busy.map((c) => c.pid).join(', ')})`);

const vitest = spawn('npx', ['vitest', 'run', ...process.argv.slice(2)], { stdio: 'inherit' });
vitest.on('exit', (code, signal) => {
  stop();
  process.exit(code ?? (signal ? 1 : 0));
});
