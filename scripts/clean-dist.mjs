// Empties the package's dist/ before tsc writes it: files of deleted sources would otherwise stay
// and be packed.
import { rmSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
