/**
 * Interp and PixelShuffle (ncnn's src/layer/interp.cpp, pixelshuffle.cpp).
 *
 * Interp: resize_type (0) 1 nearest, 2 bilinear, 3 bicubic (A = -0.75); height_scale (1) and
 * width_scale (2), or output_height (3) / output_width (4); align_corner (6). Nearest samples
 * floor(x / scale), which is ONNX Resize's asymmetric + floor; bilinear and bicubic sample at
 * (x + 0.5) / scale - 0.5 and clamp at the edges, which is ONNX's half_pixel (or align_corners).
 *
 * PixelShuffle: upscale_factor (0); mode (1) 0 takes output channel p, row offset i, column
 * offset j from input channel p*r*r + i*r + j (PyTorch's pixel_shuffle: DepthToSpace CRD), mode
 * 1 from (i*r + j)*C_out + p (DepthToSpace DCR).
 */
import { attr, type OnnxAttribute } from '../../onnx/onnx-graph.js';
import { onlyInput, type LayerConverter } from '../context.js';
import { fromFloat, show } from '../rational.js';
import { mapAxis, replicateAxis, resizeAxis } from '../spatial.js';

const MODES = { 1: 'nearest', 2: 'bilinear', 3: 'bicubic' } as const;

const interp: LayerConverter = (ctx) => {
  const input = onlyInput(ctx);
  const { p } = ctx;
  const type = p.int(0, 0);
  const mode = MODES[type as keyof typeof MODES];
  if (!mode) throw ctx.p.bad(`resize_type ${type} is not one of 1 (nearest), 2 (bilinear), 3 (bicubic)`);
  if (p.int(5, 0) !== 0 || p.string(9) !== undefined) {
    throw ctx.unsupported('takes its output size from another blob or an expression, which is not supported');
  }
  if (input.rank !== 3) throw ctx.unsupported(`resizes a ${input.rank}-D blob; only 3-D (c, h, w) blobs are supported`);
  const outH = p.int(3, 0);
  const outW = p.int(4, 0);
  if (outH !== 0 && outW !== 0) {
    throw ctx.unsupported(`resizes to a fixed ${outW}x${outH}, which only fits one input size: not a model superres can tile`);
  }
  const hs = p.float(1, 1);
  const ws = p.float(2, 1);
  const alignCorner = p.int(6, 0) !== 0;
  if (alignCorner && mode !== 'nearest') {
    // Sample positions then depend on the blob's size, so a tile samples differently from the
    // whole image: tiles would show seams.
    throw ctx.unsupported(
      'uses align_corner=1: its sample positions depend on the image size, so tiles could not be made to match the whole image',
    );
  }
  const ky = fromFloat(hs);
  const kx = fromFloat(ws);
  if (!ky || !kx) throw ctx.unsupported(`scale ${hs} x ${ws} is not a simple fraction (like 2, 1/2 or 3/2)`);
  const out = ctx.name('out');
  const scales = ctx.constant('scales', [4], new Float32Array([1, 1, hs, ws]));
  const attributes: Record<string, OnnxAttribute> =
    mode === 'nearest'
      ? { mode: attr.string('nearest'), coordinate_transformation_mode: attr.string('asymmetric'), nearest_mode: attr.string('floor') }
      : {
          mode: attr.string(mode === 'bilinear' ? 'linear' : 'cubic'),
          coordinate_transformation_mode: attr.string('half_pixel'),
          ...(mode === 'bicubic' ? { cubic_coeff_a: attr.float(-0.75) } : {}),
        };
  ctx.g.node('Resize', [input.onnx, '', scales], [out], attributes);
  const s = input.spatial;
  const spatial = s && {
    y: mapAxis(s.y, resizeAxis(s.y, ky, mode), () => `${ctx.where()} (scale ${show(ky)})`),
    x: mapAxis(s.x, resizeAxis(s.x, kx, mode), () => `${ctx.where()} (scale ${show(kx)})`),
  };
  ctx.define(0, { onnx: out, rank: 3, ...(input.channels === undefined ? {} : { channels: input.channels }), ...(spatial ? { spatial } : {}) });
};

const pixelShuffle: LayerConverter = (ctx) => {
  const input = onlyInput(ctx);
  const r = ctx.p.int(0, 1);
  const mode = ctx.p.int(1, 0);
  if (r < 1) throw ctx.p.bad(`upscale_factor must be at least 1, got ${r}`);
  if (mode !== 0 && mode !== 1) throw ctx.p.bad(`mode must be 0 or 1, got ${mode}`);
  if (input.rank !== 3) throw ctx.unsupported(`shuffles a ${input.rank}-D blob; only 3-D (c, h, w) blobs are supported`);
  if (input.channels !== undefined && input.channels % (r * r) !== 0) {
    throw ctx.p.bad(`its input has ${input.channels} channels, not a multiple of ${r}x${r}`);
  }
  const out = ctx.name('out');
  ctx.g.node('DepthToSpace', [input.onnx], [out], { blocksize: attr.int(r), mode: attr.string(mode === 0 ? 'CRD' : 'DCR') });
  const s = input.spatial;
  const spatial = s && {
    y: mapAxis(s.y, replicateAxis(s.y, r), () => ctx.where()),
    x: mapAxis(s.x, replicateAxis(s.x, r), () => ctx.where()),
  };
  const channels = input.channels === undefined ? undefined : input.channels / (r * r);
  ctx.define(0, { onnx: out, rank: 3, ...(channels === undefined ? {} : { channels }), ...(spatial ? { spatial } : {}) });
};

export const resizeLayers: Record<string, LayerConverter> = { Interp: interp, PixelShuffle: pixelShuffle };
