import { Command, CommanderError } from 'commander';
import { isSuperresError } from '@superres/core';
import { runUpscale } from './upscale-command.js';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  signal?: AbortSignal;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

function buildProgram(io: CliIo): Command {
  const program = new Command('superres')
    .description('Image super-resolution with Real-ESRGAN family models on ONNX Runtime')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  program
    .command('upscale')
    .description('Upscale one image')
    .argument('<input>', 'input image (PNG, JPEG, WebP, TIFF, ...)')
    .requiredOption('-o, --output <file>', 'output image; .png, .jpg or .webp picks the format')
    .requiredOption('-m, --model <file>', 'model weights: a PyTorch .pth checkpoint or an .onnx file')
    .option('-s, --scale <n>', "output scale (any positive number); default: the model's native scale")
    .option('-t, --tile <n>', 'tile size in input pixels; 0 processes the whole image at once', '0')
    .option('--tile-pad <n>', 'context pixels around each tile', '10')
    .option('--pre-pad <n>', 'reflect padding on the right and bottom edges before inference', '0')
    .option('--alpha <mode>', 'alpha channel: "model" (through the network) or "resize"', 'model')
    .option('--threads <n>', 'inference threads (default: runtime choice)')
    .option('--quality <n>', 'JPEG/WebP quality 1..100', '95')
    .option('--max-pixels <n>', 'refuse inputs with more pixels than this')
    .option('-q, --quiet', 'no progress output', false)
    .action(async (input: string, flags: Record<string, unknown>) => {
      const summary = await runUpscale(input, flags, { log: (l) => io.stderr(`${l}\n`), signal: io.signal });
      const { output: o } = summary;
      io.stdout(`${o.path}: ${o.width}x${o.height}, ${o.channels} channel(s), ${o.bitDepth}-bit (model ${summary.modelId})\n`);
    });

  return program;
}

/** Runs the CLI on argv (without the node and script entries); returns the exit code. */
export async function runCli(args: string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(args, { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (isSuperresError(error)) {
      io.stderr(`superres: ${error.message} [${error.code}]\n`);
      return error.code === 'E_INVALID_OPTION' ? EXIT_USAGE : EXIT_FAILURE;
    }
    const err = error as NodeJS.ErrnoException;
    if (err?.code === 'ENOENT' || err?.code === 'EACCES' || err?.code === 'EISDIR') {
      io.stderr(`superres: ${err.message}\n`);
      return EXIT_FAILURE;
    }
    io.stderr(`superres: unexpected error: ${err?.stack ?? String(error)}\n`);
    return EXIT_FAILURE;
  }
}
