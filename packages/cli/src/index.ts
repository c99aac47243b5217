export { runCli, EXIT_OK, EXIT_FAILURE, EXIT_USAGE, type CliIo } from './program.js';
export { runUpscale, type UpscaleSummary } from './commands/upscale.js';
export { decodeImage, encodeImage, formatFromPath, type OutputFormat } from '@superres/server';
