// Runs the reference ONNX checker (Debian python3-onnx, installed by scripts/test-setup.mjs) on
// model bytes. Tests skip with this reason where it is absent.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PYTHON = '/usr/bin/python3';
export const hasOnnxChecker = spawnSync(PYTHON, ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0;
export const noCheckerReason = 'needs python3-onnx for /usr/bin/python3';

export interface CheckerResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Loads the model with onnx, runs `check_model(full_check=True)`, then runs `after` (Python
 * statements with `m` bound to the model) so a test can print what onnx decoded.
 */
export function runOnnxChecker(bytes: Uint8Array, after = ''): CheckerResult {
  const dir = mkdtempSync(join(tmpdir(), 'superres-onnx-check-'));
  try {
    const file = join(dir, 'model.onnx');
    writeFileSync(file, bytes);
    const script = `import json, sys, onnx\nm = onnx.load(sys.argv[1])\nonnx.checker.check_model(m, full_check=True)\n${after}`;
    const r = spawnSync(PYTHON, ['-c', script, file], { encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
