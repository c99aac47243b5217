#!/usr/bin/python3
"""PyTorch reference for Real-ESRGAN (SRVGGNetCompact, realesr-animevideov3).

Our own re-implementation of upstream xinntao/Real-ESRGAN `realesrgan/archs/srvgg_arch.py`
(SRVGGNetCompact) and `realesrgan/utils.py` (RealESRGANer.enhance) for RGB 8-bit inputs, without
basicsr/cv2. It produces the expected outputs that the TypeScript/ONNX port is tested against.

Default run (from the repository root) regenerates
packages/models/test/fixtures/reference/animevideov3/{*.png,manifest.json}:

    /usr/bin/python3 tools/reference/realesrgan_reference.py

One image with chosen parameters:

    /usr/bin/python3 tools/reference/realesrgan_reference.py --input in.png --output out.png \
        --tile 64 --tile-pad 24 --pre-pad 0

Needs PyTorch >= 1.13, numpy and PIL (Debian: python3-torch python3-numpy python3-pil).
"""

import argparse
import hashlib
import io
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / 'packages/models/test/fixtures/reference/animevideov3'
WEIGHTS_REL = 'weights/realesr-animevideov3.pth'
WEIGHTS_SHA256 = 'b8a8376811077954d82ca3fcf476f1ac3da3e8a68a4f4d71363008000a18b75d'
SET5_REL = 'images/set5/LRx4'
NET_SCALE = 4
THREADS = 2
CANONICAL_COMMAND = '/usr/bin/python3 tools/reference/realesrgan_reference.py'


# --------------------------------------------------------------------------------------------
# Architecture
# --------------------------------------------------------------------------------------------

def make_act(act_type, num_feat):
    if act_type == 'prelu':
        return nn.PReLU(num_parameters=num_feat)
    if act_type == 'relu':
        return nn.ReLU(inplace=True)
    if act_type == 'leakyrelu':
        return nn.LeakyReLU(negative_slope=0.1, inplace=True)
    raise ValueError(f'unknown act_type {act_type!r}')


class SRVGGNetCompact(nn.Module):
    """body = [conv(in,feat), act, num_conv x (conv(feat,feat), act), conv(feat, out*up*up)];
    pixel_shuffle(up); plus the nearest-upsampled input. State-dict keys: body.<i>.weight/bias."""

    def __init__(self, num_in_ch=3, num_out_ch=3, num_feat=64, num_conv=16, upscale=4, act_type='prelu'):
        super().__init__()
        self.upscale = upscale
        layers = [nn.Conv2d(num_in_ch, num_feat, 3, 1, 1), make_act(act_type, num_feat)]
        for _ in range(num_conv):
            layers += [nn.Conv2d(num_feat, num_feat, 3, 1, 1), make_act(act_type, num_feat)]
        layers.append(nn.Conv2d(num_feat, num_out_ch * upscale * upscale, 3, 1, 1))
        self.body = nn.ModuleList(layers)
        self.upsampler = nn.PixelShuffle(upscale)

    def forward(self, x):
        out = x
        for layer in self.body:
            out = layer(out)
        out = self.upsampler(out)
        out += F.interpolate(x, scale_factor=self.upscale, mode='nearest')
        return out


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def load_model(weights_path):
    ckpt = torch.load(weights_path, map_location='cpu', weights_only=True)
    key = 'params_ema' if 'params_ema' in ckpt else 'params'
    model = SRVGGNetCompact(3, 3, num_feat=64, num_conv=16, upscale=NET_SCALE, act_type='prelu')
    model.load_state_dict(ckpt[key], strict=True)
    model.eval()
    return model.float(), key


# --------------------------------------------------------------------------------------------
# RealESRGANer.enhance, RGB 8-bit path
# --------------------------------------------------------------------------------------------

def tile_process(model, img, scale, tile, tile_pad):
    """Exact RealESRGANer.tile_process geometry: tiles of `tile` px from the top-left, each run
    with up to `tile_pad` px of context (clipped at the image border), output cropped back."""
    batch, channel, height, width = img.shape
    output = img.new_zeros((batch, channel, height * scale, width * scale))
    tiles_x = math.ceil(width / tile)
    tiles_y = math.ceil(height / tile)
    for y in range(tiles_y):
        for x in range(tiles_x):
            in_x0 = x * tile
            in_x1 = min(in_x0 + tile, width)
            in_y0 = y * tile
            in_y1 = min(in_y0 + tile, height)
            pad_x0 = max(in_x0 - tile_pad, 0)
            pad_x1 = min(in_x1 + tile_pad, width)
            pad_y0 = max(in_y0 - tile_pad, 0)
            pad_y1 = min(in_y1 + tile_pad, height)
            out_tile = model(img[:, :, pad_y0:pad_y1, pad_x0:pad_x1])
            ox0 = (in_x0 - pad_x0) * scale
            oy0 = (in_y0 - pad_y0) * scale
            ow = (in_x1 - in_x0) * scale
            oh = (in_y1 - in_y0) * scale
            output[:, :, in_y0 * scale:in_y1 * scale, in_x0 * scale:in_x1 * scale] = \
                out_tile[:, :, oy0:oy0 + oh, ox0:ox0 + ow]
    return output


@torch.no_grad()
def enhance_float(model, img_u8, scale=NET_SCALE, tile=0, tile_pad=10, pre_pad=0):
    """img_u8: HxWx3 uint8 RGB. Returns the float32 CHW network output after pad removal,
    BEFORE clamping (numpy)."""
    if img_u8.dtype != np.uint8 or img_u8.ndim != 3 or img_u8.shape[2] != 3:
        raise ValueError('expected an HxWx3 uint8 RGB image')
    img = img_u8.astype(np.float32) / 255  # float32 division, as upstream (max_range = 255)
    x = torch.from_numpy(np.ascontiguousarray(np.transpose(img, (2, 0, 1)))).float().unsqueeze(0)

    if pre_pad != 0:
        x = F.pad(x, (0, pre_pad, 0, pre_pad), 'reflect')
    mod_scale = {2: 2, 1: 4}.get(scale)
    mod_pad_h = mod_pad_w = 0
    if mod_scale is not None:
        _, _, h, w = x.shape
        if h % mod_scale != 0:
            mod_pad_h = mod_scale - h % mod_scale
        if w % mod_scale != 0:
            mod_pad_w = mod_scale - w % mod_scale
        x = F.pad(x, (0, mod_pad_w, 0, mod_pad_h), 'reflect')

    out = tile_process(model, x, scale, tile, tile_pad) if tile > 0 else model(x)

    if mod_scale is not None:
        _, _, h, w = out.shape
        out = out[:, :, 0:h - mod_pad_h * scale, 0:w - mod_pad_w * scale]
    if pre_pad != 0:
        _, _, h, w = out.shape
        out = out[:, :, 0:h - pre_pad * scale, 0:w - pre_pad * scale]
    return out.squeeze(0).float().cpu().numpy()


def quantize(out_chw):
    """clamp [0,1] -> HxWx3 -> (x * 255.0).round() (float32 multiply, half to even) -> uint8."""
    clamped = np.clip(out_chw, 0, 1).astype(np.float32)
    hwc = np.transpose(clamped, (1, 2, 0))
    return (hwc * 255.0).round().astype(np.uint8)


def enhance(model, img_u8, scale=NET_SCALE, tile=0, tile_pad=10, pre_pad=0, outscale=None):
    if outscale is not None and float(outscale) != float(scale):
        raise ValueError(f'outscale {outscale} != netscale {scale}: the Lanczos resize is not reproduced here')
    return quantize(enhance_float(model, img_u8, scale, tile, tile_pad, pre_pad))


# --------------------------------------------------------------------------------------------
# Fixture generation
# --------------------------------------------------------------------------------------------

def read_rgb(path):
    with Image.open(path) as im:
        if im.mode != 'RGB':
            raise ValueError(f'{path}: expected an 8-bit RGB PNG, got mode {im.mode}')
        return np.array(im, dtype=np.uint8)


def write_png(path, hwc_u8):
    Image.fromarray(hwc_u8, 'RGB').save(path, format='PNG', optimize=True)


def float_stats(out_chw):
    """Debug facts about the float output before quantization."""
    clamped = np.clip(out_chw, 0, 1).astype(np.float32)
    scaled = clamped * np.float32(255.0)  # what .round() sees
    k = np.floor(scaled)
    # distance (in [0,1] value units) to the nearest rounding boundary (k + 0.5) / 255
    v64 = clamped.astype(np.float64)
    dist = np.abs(v64 - (k + 0.5) / 255.0)
    ref = scaled.round()
    return {
        'layout': 'CHW float32 after pad removal; stats over all 3 channels',
        'raw_min': float(out_chw.min()),
        'raw_max': float(out_chw.max()),
        'raw_mean': float(out_chw.astype(np.float64).mean()),
        'values': int(out_chw.size),
        'below_0': int((out_chw < 0).sum()),
        'above_1': int((out_chw > 1).sum()),
        'clamped_mean': float(clamped.astype(np.float64).mean()),
        'near_rounding_boundary': {
            'definition': 'count of clamped values v with |v - (k+0.5)/255| < eps, k = floor(v*255)',
            'eps_1e-4': int((dist < 1e-4).sum()),
            'eps_1e-5': int((dist < 1e-5).sum()),
            'eps_1e-6': int((dist < 1e-6).sum()),
            'exact_ties_float32': int((scaled - k == np.float32(0.5)).sum()),
        },
        # How a port's quantization could differ from numpy's float32 (x * 255.0).round():
        'quantization_variants_vs_reference': {
            'float32_product_round_half_up': int((np.floor(scaled + np.float32(0.5)) != ref).sum()),
            'float64_product_round_half_even': int((np.round(v64 * 255.0) != ref).sum()),
            'float64_product_round_half_up_js_Math_round': int((js_round(v64 * 255.0) != ref).sum()),
        },
    }


def js_round(x):
    """JavaScript Math.round for x >= 0: round half up (computed without floor(x + 0.5) error)."""
    k = np.floor(x)
    return k + (x - k >= 0.5)


def pixel_sha256(hwc_u8):
    return hashlib.sha256(np.ascontiguousarray(hwc_u8).tobytes()).hexdigest()


def diff_summary(a, b):
    d = np.abs(a.astype(np.int16) - b.astype(np.int16))
    px = d.max(axis=2) > 0
    hist = {str(v): int((d == v).sum()) for v in np.unique(d) if v != 0}
    return {
        'pixels_differing': int(px.sum()),
        'values_differing': int((d > 0).sum()),
        'max_abs_diff': int(d.max()),
        'abs_diff_histogram': hist,
    }


def generate(fixtures, out_dir):
    weights = fixtures / WEIGHTS_REL
    weights_sha = sha256_file(weights)
    if weights_sha != WEIGHTS_SHA256:
        raise SystemExit(f'{weights}: sha256 {weights_sha} != expected {WEIGHTS_SHA256}')
    model, key = load_model(weights)
    out_dir.mkdir(parents=True, exist_ok=True)

    images = sorted((fixtures / SET5_REL).glob('*.png'))
    if len(images) != 5:
        raise SystemExit(f'expected 5 Set5 LRx4 images in {fixtures / SET5_REL}, found {len(images)}')

    outputs = []
    results = {}
    runs = [(p, 0, 10, 0, p.stem + '.png') for p in images]
    runs.append((fixtures / SET5_REL / 'baby.png', 64, 24, 0, 'baby_tile64_pad24.png'))
    for src, tile, tile_pad, pre_pad, name in runs:
        img = read_rgb(src)
        t0 = time.perf_counter()
        out_f = enhance_float(model, img, NET_SCALE, tile, tile_pad, pre_pad)
        seconds = time.perf_counter() - t0
        out = quantize(out_f)
        results[name] = (out, out_f)
        # A tiled run identical to its whole-image run is recorded, not stored twice.
        whole = results.get(src.stem + '.png')
        if tile and whole is not None and np.array_equal(whole[0], out):
            name = src.stem + '.png'
        else:
            write_png(out_dir / name, out)
        h, w = out.shape[:2]
        print(f'{name}: {img.shape[1]}x{img.shape[0]} -> {w}x{h} in {seconds:.2f}s '
              f'({(out_dir / name).stat().st_size} bytes)', file=sys.stderr)
        outputs.append({
            'output': name,
            'label': f'{src.stem}_tile{tile}_pad{tile_pad}' if tile else src.stem,
            'source': f'{SET5_REL}/{src.name}',
            'source_sha256': sha256_file(src),
            'input_width': int(img.shape[1]),
            'input_height': int(img.shape[0]),
            'params': {'tile': tile, 'tile_pad': tile_pad, 'pre_pad': pre_pad, 'outscale': NET_SCALE},
            'width': int(w),
            'height': int(h),
            'pixels_sha256': pixel_sha256(out),
            'file_sha256': sha256_file(out_dir / name),
        })

    tile_vs_whole = diff_summary(results['baby.png'][0], results['baby_tile64_pad24.png' if 'baby_tile64_pad24.png' in results else 'baby.png'][0])
    tile_vs_whole['float_max_abs_diff'] = float(
        np.abs(results['baby.png'][1] - results['baby_tile64_pad24.png' if 'baby_tile64_pad24.png' in results else 'baby.png'][1]).max())
    print(f'baby tile64/pad24 vs whole: {tile_vs_whole}', file=sys.stderr)

    manifest = {
        'description': 'Real-ESRGAN realesr-animevideov3 x4 reference outputs (PyTorch, CPU, float32), '
                       'reproducing RealESRGANer.enhance for 8-bit RGB PNG inputs',
        'generated_by': {
            'command': CANONICAL_COMMAND,
            'cwd': 'repository root',
            'script': 'tools/reference/realesrgan_reference.py',
            'torch_version': torch.__version__,
            'numpy_version': np.__version__,
            'torch_threads': THREADS,
            'device': 'cpu',
        },
        'weights': {
            'file': WEIGHTS_REL,
            'sha256': weights_sha,
            'state_dict_key': key,
            'arch': {'name': 'SRVGGNetCompact', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 64,
                     'num_conv': 16, 'upscale': NET_SCALE, 'act_type': 'prelu'},
        },
        'pipeline': [
            'PIL RGB uint8 -> float32 / 255 -> NCHW',
            'pre_pad: reflect right/bottom; mod pad only for scale 2 (mod 2) and 1 (mod 4)',
            'whole-image forward (tile 0) or RealESRGANer.tile_process (tile > 0)',
            'crop pads; clamp [0,1]; (x * 255.0).round() in float32, round half to even; uint8',
        ],
        'pixels_sha256_definition': 'sha256 of the raw interleaved RGB uint8 pixels, row-major, '
                                    'width*height*3 bytes (independent of PNG encoding)',
        'outputs': outputs,
        'tile_vs_whole': {'a': 'baby.png', 'b': 'baby_tile64_pad24.png', **tile_vs_whole},
        'debug': {
            'baby.png': float_stats(results['baby.png'][1]),
        },
    }
    with open(out_dir / 'manifest.json', 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--fixtures', type=Path,
                        default=Path(os.environ.get('SUPERRES_FIXTURES') or (REPO_ROOT.parent / 'shared/fixtures')),
                        help='fixtures folder (default: $SUPERRES_FIXTURES or ../shared/fixtures)')
    parser.add_argument('--out', type=Path, default=DEFAULT_OUT, help='output folder for the fixture set')
    parser.add_argument('--input', type=Path, help='single-image mode: input RGB 8-bit PNG')
    parser.add_argument('--output', type=Path, help='single-image mode: output PNG')
    parser.add_argument('--tile', type=int, default=0)
    parser.add_argument('--tile-pad', type=int, default=10)
    parser.add_argument('--pre-pad', type=int, default=0)
    parser.add_argument('--outscale', type=float, default=None)
    args = parser.parse_args()

    torch.set_num_threads(THREADS)
    fixtures = args.fixtures if args.fixtures.is_absolute() else (Path.cwd() / args.fixtures)
    if args.input:
        if not args.output:
            parser.error('--input needs --output')
        model, _ = load_model(fixtures / WEIGHTS_REL)
        out = enhance(model, read_rgb(args.input), NET_SCALE, args.tile, args.tile_pad, args.pre_pad, args.outscale)
        write_png(args.output, out)
        return
    if args.outscale is not None and args.outscale != NET_SCALE:
        parser.error('only outscale = 4 is supported')
    generate(fixtures, args.out)


if __name__ == '__main__':
    main()
