// Loaded with `node --import` ahead of a command: writes the process's peak RSS (bytes) to the
// file SUPERRES_BENCH_RSS_OUT names when the process exits.
import { writeFileSync } from 'node:fs';
import { peakRss } from './measure.mjs';

process.on('exit', () => {
  if (process.env.SUPERRES_BENCH_RSS_OUT) writeFileSync(process.env.SUPERRES_BENCH_RSS_OUT, String(peakRss()));
});
