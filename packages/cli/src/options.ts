import { z } from 'zod';
import { InvalidOptionError, parseByteSize } from '@superres/core';
import { DEFAULT_MODEL_ID } from '@superres/models';

// Commander hands us strings; these schemas turn them into typed, checked values and name the
// flag in every message.
const integer = (flag: string, min: number) =>
  z.coerce
    .number({ error: `${flag} must be a number` })
    .refine((v) => Number.isInteger(v) && v >= min, { message: `${flag} must be an integer >= ${min}` });

const positive = (flag: string) =>
  z.coerce
    .number({ error: `${flag} must be a number` })
    .refine((v) => Number.isFinite(v) && v > 0, { message: `${flag} must be a positive number` });

/** 'auto' or an integer >= 0. */
const autoOrInteger = (flag: string) =>
  z.union([z.literal('auto'), integer(flag, 0)], { error: `${flag} must be "auto" or an integer >= 0` });

const byteSize = (flag: string) =>
  z.union([z.number(), z.string()]).transform((v, ctx) => {
    try {
      return typeof v === 'number' ? parseByteSize(String(v), flag) : parseByteSize(v, flag);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });

export const upscaleFlagsSchema = z.object({
  output: z.string({ error: '--output is required' }).min(1, '--output is required'),
  // A catalog id, an imported id or a file path; omitted: the default catalog model.
  model: z.string({ error: '--model must be a model id or a file' }).min(1, '--model must not be empty').default(DEFAULT_MODEL_ID),
  denoise: z.coerce
    .number({ error: '--denoise must be a number' })
    .refine((v) => Number.isFinite(v) && v >= 0 && v <= 1, { message: '--denoise must be a number from 0 to 1' })
    .optional(),
  modelsDir: z.string().min(1, '--models-dir must not be empty').optional(),
  scale: positive('--scale').optional(),
  tile: autoOrInteger('--tile').default('auto'),
  tilePad: autoOrInteger('--tile-pad').default('auto'),
  maxMemory: byteSize('--max-memory').optional(),
  prePad: integer('--pre-pad', 0).default(0),
  alpha: z.enum(['model', 'resize'], { error: '--alpha must be "model" or "resize"' }).default('model'),
  device: z.enum(['cpu', 'cuda', 'webgpu', 'auto'], { error: '--device must be cpu, cuda, webgpu or auto' }).default('cpu'),
  threads: integer('--threads', 1).optional(),
  quality: integer('--quality', 1).refine((v) => v <= 100, '--quality must be at most 100').default(95),
  maxPixels: integer('--max-pixels', 1).optional(),
  quiet: z.boolean().default(false),
});

export type UpscaleFlags = z.infer<typeof upscaleFlagsSchema>;

export function parseUpscaleFlags(raw: Record<string, unknown>): UpscaleFlags {
  const result = upscaleFlagsSchema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const received = issue?.path[0] !== undefined ? raw[String(issue.path[0])] : undefined;
  throw new InvalidOptionError(
    `${issue?.message ?? 'invalid option'}${received === undefined ? '' : ` (received ${JSON.stringify(received)})`}`,
    { details: { option: issue?.path.join('.') } },
  );
}
