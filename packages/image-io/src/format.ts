import { InvalidOptionError } from '@superres/core';

export type OutputFormat = 'png' | 'jpeg' | 'webp' | 'avif';

/** Picks the output format from a file name's extension. */
export function formatFromPath(path: string): OutputFormat {
  const ext = path.toLowerCase().split('.').pop() ?? '';
  if (ext === 'png') return 'png';
  if (ext === 'jpg' || ext === 'jpeg') return 'jpeg';
  if (ext === 'webp') return 'webp';
  if (ext === 'avif') return 'avif';
  throw new InvalidOptionError(
    `Output file must end in .png, .jpg, .jpeg, .webp or .avif; got "${path}"`,
    { details: { option: 'output' } },
  );
}
