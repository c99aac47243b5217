import { InvalidOptionError } from '@superres/core';

export type OutputFormat = 'png' | 'jpeg' | 'webp';

/** Picks the output format from a file name's extension. */
export function formatFromPath(path: string): OutputFormat {
  const ext = path.toLowerCase().split('.').pop() ?? '';
  if (ext === 'png') return 'png';
  if (ext === 'jpg' || ext === 'jpeg') return 'jpeg';
  if (ext === 'webp') return 'webp';
  throw new InvalidOptionError(
    `Output file must end in .png, .jpg, .jpeg or .webp; got "${path}"`,
    { details: { option: 'output' } },
  );
}
