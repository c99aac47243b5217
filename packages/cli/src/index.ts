export { runCli, EXIT_OK, EXIT_FAILURE, EXIT_USAGE, type CliIo } from './program.js';
export { runUpscale, type UpscaleSummary } from './commands/upscale.js';
export { decodeImage, encodeImage, encodeImageToFile, formatFromPath, type OutputFormat } from '@superres/image-io';
