/** upload_image (base64 in, URL out) and /outputs/<name> (files of the local storage). */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { BadImageError, ImageTooLargeError } from '@superres/core';
import { ROUTES, UploadImageRequestSchema, type UploadImageResponse } from '@superres/sdk';
import { RateLimitedError, ServerError } from '../errors.js';
import { sniffImageType } from '../net/safe-fetch.js';
import { authenticate, parseBody } from './auth.js';
import type { AppContext } from './context.js';

const UPLOAD_TYPES: Record<string, { ext: string; type: string }> = {
  png: { ext: 'png', type: 'image/png' },
  jpeg: { ext: 'jpg', type: 'image/jpeg' },
  webp: { ext: 'webp', type: 'image/webp' },
};

/** Names this server gives stored objects: 32 random hex digits and an image extension. */
const OUTPUT_NAME = /^[0-9a-f]{32}\.(png|jpg|webp)$/;

export function registerFileRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { config, storage } = ctx;

  // Uploads are base64 (4/3 of the bytes) inside JSON.
  const uploadBodyLimit = Math.ceil((config.maxInputBytes * 4) / 3) + 64 * 1024;
  app.post(ROUTES.uploadImage, { bodyLimit: uploadBodyLimit }, async (request, reply) => {
    const identity = authenticate(ctx.keys, request);
    const body = parseBody(UploadImageRequestSchema, request);
    // Base64 is 4 characters per 3 bytes: refuse before decoding anything too big.
    if (Math.floor((body.image.length * 3) / 4) > config.maxInputBytes + 2) {
      throw new ImageTooLargeError(`image: larger than ${config.maxInputBytes} bytes (SUPERRES_MAX_INPUT_BYTES)`);
    }
    const bytes = Buffer.from(body.image, body.image.includes('-') || body.image.includes('_') ? 'base64url' : 'base64');
    if (bytes.length > config.maxInputBytes) {
      throw new ImageTooLargeError(`image: larger than ${config.maxInputBytes} bytes (SUPERRES_MAX_INPUT_BYTES)`);
    }
    const kind = UPLOAD_TYPES[sniffImageType(bytes) ?? ''];
    if (!kind) throw new BadImageError('image: not a PNG, JPEG or WebP image');
    const quota = ctx.quotas.uploads.take(identity.keyId, bytes.length);
    if (!quota.ok) {
      const retryAfter = Number.isFinite(quota.retryAfterSeconds) ? quota.retryAfterSeconds : 3600;
      reply.header('retry-after', String(retryAfter));
      throw new RateLimitedError(`This key used its upload quota for now (SUPERRES_UPLOAD_QUOTA per hour): retry in ${retryAfter} s`, retryAfter);
    }
    const stored = await storage.put(`${randomBytes(16).toString('hex')}.${kind.ext}`, bytes, kind.type);
    const answer: UploadImageResponse = { status: 'success', output: stored.url, id: stored.key };
    return reply.send(answer);
  });

  app.get(`${ROUTES.outputs}/:name`, async (request, reply) => {
    const { name } = request.params as { name: string };
    const path = OUTPUT_NAME.test(name) ? storage.resolve?.(name) : undefined;
    const info = path ? await stat(path).catch(() => undefined) : undefined;
    if (!path || !info?.isFile()) throw new ServerError('E_NOT_FOUND', 'No such output');
    return reply
      .header('content-type', storage.contentTypeOf?.(name) ?? 'application/octet-stream')
      .header('content-length', String(info.size))
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('x-content-type-options', 'nosniff')
      // A cross-origin isolated page (the demo, COEP require-corp) may load outputs.
      .header('cross-origin-resource-policy', 'cross-origin')
      .send(createReadStream(path));
  });
}
