// vitest setup: the loopback-only guard in every test process, and in every Node process a test
// starts (through NODE_OPTIONS, which child processes inherit with the environment).
import { pathToFileURL } from 'node:url';
import './loopback-only.mjs';

const flag = `--import=${pathToFileURL(new URL('./loopback-only.mjs', import.meta.url).pathname).href}`;
if (!(process.env.NODE_OPTIONS ?? '').includes(flag)) {
  process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS, flag].filter(Boolean).join(' ');
}
