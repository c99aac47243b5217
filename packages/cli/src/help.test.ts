import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerUpscaleCommand } from './commands/upscale.js';
import { runCli } from './program.js';

/** The help of `args`, its whitespace folded (commander wraps lines at the terminal's width). */
async function help(args: string[]): Promise<string> {
  let stdout = '';
  const code = await runCli([...args, '--help'], { stdout: (t) => void (stdout += t), stderr: () => undefined });
  expect(code).toBe(0);
  return stdout.replace(/\s+/g, ' ');
}

describe('help texts say what the code does', () => {
  it('--threads names its real default, in every command that has it', async () => {
    for (const args of [['upscale'], ['compare'], ['faces', 'detect']]) {
      const text = await help(args);
      expect(text, args.join(' ')).toContain('ONNX Runtime threads per inference worker (default: $SUPERRES_THREADS, else all cores divided by $SUPERRES_WORKERS, which defaults to 1)');
      expect(text).not.toContain('runtime choice');
    }
  });

  it('upscale says which options read SUPERRES_<NAME>', async () => {
    const text = await help(['upscale']);
    expect(text).toContain('Every option but -o, --json, -q and --config also reads SUPERRES_<NAME> from the environment');
    expect(text).not.toContain('Every flag also reads');
    expect(text).toContain('.pth/.safetensors/.onnx file');
  });

  it('models import names every format it takes', async () => {
    const text = await help(['models', 'import']);
    expect(text).toContain('.pth or .safetensors checkpoint or an .onnx model');
    expect(text).toContain('checkpoint (.pth, .safetensors) or ONNX file');
  });

  it('upscale gives no option a default of commander\'s: one would hide SUPERRES_<NAME> and the config file', () => {
    const program = new Command();
    registerUpscaleCommand(program, { stdout: () => undefined, stderr: () => undefined });
    const upscale = program.commands.find((c) => c.name() === 'upscale')!;
    const defaults = upscale.options.filter((o) => o.defaultValue !== undefined).map((o) => o.long);
    expect(defaults).toEqual([]);
  });
});
