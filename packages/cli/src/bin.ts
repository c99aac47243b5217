#!/usr/bin/env node
import { runCli } from './program.js';

const controller = new AbortController();
// First Ctrl-C stops between tiles and cleans up; a second one ends the process at once.
process.once('SIGINT', () => {
  controller.abort(new Error('interrupted'));
  process.once('SIGINT', () => process.exit(130));
});

const code = await runCli(process.argv.slice(2), {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  signal: controller.signal,
});
process.exitCode = code;
