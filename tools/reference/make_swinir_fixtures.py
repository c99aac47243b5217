#!/usr/bin/python3
"""Small random-weight SwinIR checkpoints, with the outputs PyTorch computes for them through the
RealESRGANer pipeline (whole image and tiled), and the measured tile pad.

Run from the repository root with Debian's python3-torch:

    /usr/bin/python3 tools/reference/make_swinir_fixtures.py

Writes packages/models/test/fixtures/swinir/:
  input.png        a synthetic 45x38 RGB image (not a multiple of the window size 4)
  *.pth            torch zip files, the state dict under `params_ema` or `params` (as the authors
                   release theirs), with the `relative_position_index` and `attn_mask` buffers
  *.safetensors    written by hand (float32 weights, int64 buffers)
  <network>.png    expected 8-bit output (RealESRGANer.enhance, whole image)
  <network>_tile16_pad<P>.png   expected tiled output (PyTorch tiled the same way, tile 16, pad P)
  manifest.json    what each file is, how to load it, what it must produce, the tile-pad scan

Networks (swinir_arch.py, embed_dim 12-16, depths [2, 2], heads [2, 2], window 4, mlp_ratio 2,
training img_size 16, num_feat 16 instead of upstream's 64 to keep the files small): classical
('pixelshuffle', x2, '1conv'), lightweight ('pixelshuffledirect', x4, '1conv') and real-SR
('nearest+conv', x4, '3conv').

SwinIR is not tile-exact: the windows are aligned to the (padded) tile, the shifted windows wrap
around it, and the reach grows with depth. The script measures the largest 8-bit difference
between the tiled and the whole output (tile 16, RealESRGANer's tiling, the pad rounded up to the
pipeline's alignment as superres does) for every tile pad 0..MAX_PAD on input.png and for the
multiples of the window on a larger 96x80 input, and records the smallest multiple of the window
size from which every larger multiple stays within 1/255 on both (a pad that is not a multiple of
the window misaligns the window grids and stays far off at any size): the measured pad.
Weights are random (fixed seeds), the last conv calibrated so the output is neither saturated nor
flat; the script stops if an output has std <= 0.05, if 30% or more values are clamped, if a probed
porting mistake would stay within the test's 1/255, or if a file exceeds 300 KB.
"""

import argparse
import json
import math
import struct
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import swinir_arch  # noqa: E402
from make_variant_fixtures import (  # noqa: E402
    check_healthy, output_stats, probe_summary, read_png, read_torch, sha256, torch_bytes, write_png)
from realesrgan_reference import diff_summary, enhance_float, quantize  # noqa: E402
from swinir_arch import SwinIR  # noqa: E402

THREADS = 2
REPO_ROOT = Path(__file__).resolve().parents[2]
OUT = REPO_ROOT / 'packages/models/test/fixtures/swinir'
COMMAND = '/usr/bin/python3 tools/reference/make_swinir_fixtures.py'
MAX_FILE = 300 * 1024
INPUT_W, INPUT_H = 45, 38
LARGE_W, LARGE_H = 96, 80
TILE = 16
MAX_PAD = 24
OUTPUT_TARGET = dict(mean=0.5, std=0.2)

COMMON = dict(img_size=16, depths=[2, 2], num_heads=[2, 2], window_size=4, mlp_ratio=2.0, img_range=1.0, num_feat=16)
NETWORKS = [
    dict(id='swinir_classical_x2', upsampler='pixelshuffle', scale=2, embed_dim=16, resi_connection='1conv', seed=1401),
    dict(id='swinir_lightweight_x4', upsampler='pixelshuffledirect', scale=4, embed_dim=12, resi_connection='1conv',
         seed=1402),
    dict(id='swinir_realsr_x4', upsampler='nearest+conv', scale=4, embed_dim=16, resi_connection='3conv', seed=1403),
]

# file, network, format, nested key
CHECKPOINTS = [
    ('swinir_classical_x2.pth', 'swinir_classical_x2', 'pytorch-zip', 'params'),
    ('swinir_lightweight_x4.pth', 'swinir_lightweight_x4', 'pytorch-zip', 'params'),
    ('swinir_lightweight_x4.safetensors', 'swinir_lightweight_x4', 'safetensors', None),
    ('swinir_realsr_x4.pth', 'swinir_realsr_x4', 'pytorch-zip', 'params_ema'),
]


def make_input(w, h, seed):
    """RGB: red ramps left to right, green top to bottom, blue a 2-D sine; a +-12 checker and
    seeded noise. Values stay inside [6, 249]."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 25 + 205 * x / (w - 1)
    g = 225 - 190 * y / (h - 1)
    b = 128 + 80 * np.sin(0.45 * x + 0.3 * y) * np.cos(0.25 * y - 0.15 * x)
    checker = np.where((x + y) % 2 == 0, 12.0, -12.0)
    rng = np.random.RandomState(seed)
    img = np.stack([r, g, b], axis=2) + checker[:, :, None] + rng.normal(0, 7, size=(h, w, 3))
    return np.clip(np.round(img), 6, 249).astype(np.uint8)


def build_network(spec):
    net = SwinIR(in_chans=3, embed_dim=spec['embed_dim'], upscale=spec['scale'], upsampler=spec['upsampler'],
                 resi_connection=spec['resi_connection'], **COMMON)
    gen = torch.Generator().manual_seed(spec['seed'])
    with torch.no_grad():
        for name, module in net.named_modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                fan_in = module.weight[0].numel()
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen) * (1.2 / math.sqrt(fan_in)))
                module.bias.copy_(torch.randn(module.bias.shape, generator=gen) * 0.05)
            elif isinstance(module, nn.LayerNorm):
                module.weight.copy_(1 + 0.3 * torch.randn(module.weight.shape, generator=gen))
                module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=gen))
            elif isinstance(module, swinir_arch.WindowAttention):
                # Large enough that the bias (and so its index) moves the softmax.
                module.relative_position_bias_table.copy_(
                    1.5 * torch.randn(module.relative_position_bias_table.shape, generator=gen))
    return net.eval()


def last_conv(net):
    return net.upsample[0] if net.upsampler == 'pixelshuffledirect' else net.conv_last


@torch.no_grad()
def calibrate(net, x):
    """Rescale the last conv per output channel so the output has the target std and mean on x."""
    conv = last_conv(net)
    for _ in range(2):
        out = net(x)
        std = out.std(dim=(0, 2, 3))
        channels = conv.weight.shape[0]
        per = channels // 3  # pixelshuffledirect: s^2 conv channels per output channel
        factor = (OUTPUT_TARGET['std'] / std).repeat_interleave(per)
        conv.weight.mul_(factor.view(-1, 1, 1, 1))
        conv.bias.mul_(factor)
        out = net(x)
        conv.bias.add_((OUTPUT_TARGET['mean'] - out.mean(dim=(0, 2, 3))).repeat_interleave(per))


def to_tensor(img_u8):
    return torch.from_numpy(np.ascontiguousarray(np.transpose(img_u8.astype(np.float32) / 255, (2, 0, 1)))).unsqueeze(0)


def alignment(scale):
    return {2: 2, 1: 4}.get(scale, 1)


def pad_scan(net, img_u8, scale, step):
    """{pad: max 8-bit |tiled - whole|} for tile pads 0..MAX_PAD by `step` (rounded up to the
    alignment, as superres does)."""
    whole = quantize(enhance_float(net, img_u8, scale, 0, 10, 0))
    out = {}
    for pad in range(0, MAX_PAD + 1, step):
        used = -(-pad // alignment(scale)) * alignment(scale)
        tiled = quantize(enhance_float(net, img_u8, scale, TILE, used, 0))
        out[pad] = int(np.abs(whole.astype(np.int16) - tiled.astype(np.int16)).max())
    return out


def measured_pad(ws, *scans):
    """The smallest multiple of the window size from which every multiple of it up to MAX_PAD is
    within 1/255 in every scan. (A pad that is not a multiple of the window, with tiles that are,
    shifts the tiles' window grid against the image's: those stay far off at any size.)"""
    for pad in range(0, MAX_PAD + 1, ws):
        if all(all(d <= 1 for p, d in scan.items() if p >= pad and p % ws == 0) for scan in scans):
            return pad
    raise SystemExit('no tile pad up to MAX_PAD matches the whole image within 1/255')


def hyperparameters(spec):
    return {'in_chans': 3, 'embed_dim': spec['embed_dim'], 'depths': COMMON['depths'],
            'num_heads': COMMON['num_heads'], 'window_size': COMMON['window_size'], 'mlp_ratio': COMMON['mlp_ratio'],
            'upscale': spec['scale'], 'img_range': COMMON['img_range'], 'upsampler': spec['upsampler'],
            'resi_connection': spec['resi_connection'], 'num_feat': COMMON['num_feat'],
            'img_size': COMMON['img_size'], 'patch_norm': True}


def safetensors_bytes(sd):
    """safetensors with each tensor's own dtype (F32 weights, I64 index buffers), data in name order."""
    header = OrderedDict([('__metadata__', {'format': 'pt'})])
    blobs, offset = [], 0
    for name in sorted(sd):
        t = sd[name].detach().contiguous()
        kind, np_type = ('I64', '<i8') if t.dtype == torch.int64 else ('F32', '<f4')
        data = t.numpy().astype(np_type).tobytes()
        header[name] = {'dtype': kind, 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * (-len(text) % 8)
    return struct.pack('<Q', len(text)) + text + b''.join(blobs)


def read_safetensors(data):
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n])
    header.pop('__metadata__', None)
    base = 8 + n
    types = {'I64': '<i8', 'F32': '<f4'}
    return {k: torch.from_numpy(np.frombuffer(data[base + v['data_offsets'][0]:base + v['data_offsets'][1]],
                                              dtype=types[v['dtype']]).reshape(v['shape']).copy())
            for k, v in header.items()}


@torch.no_grad()
def sensitivity(net, spec, img_u8, ref_u8):
    """How far plausible porting mistakes move the 8-bit output; each must move some value by more
    than 1 (the test's tolerance)."""
    scale = spec['scale']
    blocks = [b for layer in net.layers for b in layer.residual_group.blocks]
    attns = [b.attn for b in blocks]
    probes = {}

    def run():
        return quantize(enhance_float(net, img_u8, scale, 0, 10, 0))

    saved_mask = swinir_arch.shift_mask
    swinir_arch.shift_mask = lambda h, w, ws, s: torch.zeros_like(saved_mask(h, w, ws, s))
    probes['shift_mask_skipped'] = run()
    swinir_arch.shift_mask = saved_mask
    shifts = [b.shift for b in blocks]
    for b in blocks:
        b.shift = 0
    probes['no_shift'] = run()
    for b, s in zip(blocks, shifts):
        b.shift = s
    tables = [a.relative_position_bias_table.clone() for a in attns]
    for a in attns:
        a.relative_position_bias_table.zero_()
    probes['position_bias_skipped'] = run()
    for a, t in zip(attns, tables):
        a.relative_position_bias_table.copy_(t)
    for a in attns:
        a.relative_position_index.copy_(a.relative_position_index.t().clone())
    probes['position_bias_transposed'] = run()
    for a in attns:
        a.relative_position_index.copy_(a.relative_position_index.t().clone())
    mean = net.mean
    net.mean = torch.zeros_like(mean)
    probes['mean_skipped'] = run()
    net.mean = mean
    out = {}
    for name, u8 in probes.items():
        out[name] = probe_summary(ref_u8, u8)
        if out[name]['max_abs_u8'] <= 1:
            raise SystemExit(f"{spec['id']}: probe {name} changes no value by more than 1: fixture too weak")
    if not np.array_equal(run(), ref_u8):
        raise SystemExit(f"{spec['id']}: the probes did not restore the network")
    return out


@torch.no_grad()
def generate(out):
    torch.set_num_threads(THREADS)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.iterdir():
        if stale.suffix in ('.png', '.pth', '.safetensors') or stale.name == 'manifest.json':
            stale.unlink()
    img = make_input(INPUT_W, INPUT_H, 20240611)
    large = make_input(LARGE_W, LARGE_H, 20261130)
    write_png(out / 'input.png', img)
    if not np.array_equal(read_png(out / 'input.png'), img):
        raise SystemExit('input.png does not read back')

    nets, net_info = {}, {}
    for spec in NETWORKS:
        net = build_network(spec)
        calibrate(net, to_tensor(img))
        nets[spec['id']] = net
        scale = spec['scale']
        ws = COMMON['window_size']
        scan = pad_scan(net, img, scale, 1)
        scan_large = pad_scan(net, large, scale, ws)
        pad = measured_pad(ws, scan, scan_large)
        bound = ws * sum(COMMON['depths'])  # superres's receptiveRadius: one window per Swin block
        if pad > bound:
            raise SystemExit(f"{spec['id']}: measured pad {pad} exceeds superres's radius {bound}")
        whole_f = enhance_float(net, img, scale, 0, 10, 0)
        whole_u8 = quantize(whole_f)
        stats = output_stats(whole_f, whole_u8)
        check_healthy(spec['id'], stats)
        runs = [{'tile': 0, 'tile_pad': 10, 'pre_pad': 0, 'expected': f"{spec['id']}.png",
                 'width': whole_u8.shape[1], 'height': whole_u8.shape[0],
                 'pixels_sha256': sha256(np.ascontiguousarray(whole_u8).tobytes()), 'stats': stats}]
        write_png(out / runs[0]['expected'], whole_u8)
        tiled_f = enhance_float(net, img, scale, TILE, pad, 0)
        tiled_u8 = quantize(tiled_f)
        vs_whole = diff_summary(whole_u8, tiled_u8)
        vs_whole['float_max_abs_diff'] = float(np.abs(whole_f - tiled_f).max())
        runs.append({'tile': TILE, 'tile_pad': pad, 'pre_pad': 0, 'expected': f"{spec['id']}_tile{TILE}_pad{pad}.png",
                     'width': tiled_u8.shape[1], 'height': tiled_u8.shape[0],
                     'pixels_sha256': sha256(np.ascontiguousarray(tiled_u8).tobytes()),
                     'stats': output_stats(tiled_f, tiled_u8), 'vs_whole': vs_whole})
        write_png(out / runs[1]['expected'], tiled_u8)
        net_info[spec['id']] = {
            'hyperparameters': hyperparameters(spec),
            'measured_tile_pad': pad,
            'receptive_radius': bound,
            'tile_pad_scan': {
                'how': f'tile {TILE}, pad p rounded up to the alignment ({alignment(scale)}), max 8-bit |tiled - whole|; '
                       f'every pad on input.png, multiples of the window on the {LARGE_W}x{LARGE_H} input',
                'input_png': scan,
                f'synthetic_{LARGE_W}x{LARGE_H}': scan_large,
            },
            'seed': spec['seed'],
            'parameters': int(sum(p.numel() for p in net.parameters())),
            'runs': runs,
            'sensitivity': sensitivity(net, spec, img, whole_u8),
        }
        print(f"{spec['id']}: pad {pad}, std {stats['float_std']}, clamped {stats['clamped_fraction']}, "
              f"scan {scan}, large {scan_large}", file=sys.stderr)

    checkpoints = []
    for file, net_id, fmt, nested in CHECKPOINTS:
        spec = next(s for s in NETWORKS if s['id'] == net_id)
        sd = nets[net_id].state_dict()
        if fmt == 'safetensors':
            data = safetensors_bytes(sd)
            back = read_safetensors(data)
        else:
            data = torch_bytes({nested: sd})
            back = read_torch(data)[nested]
        if sorted(back) != sorted(sd) or any(not torch.equal(back[k], sd[k]) for k in sd):
            raise SystemExit(f'{file}: does not read back')
        if len(data) > MAX_FILE:
            raise SystemExit(f'{file}: {len(data)} bytes, over the {MAX_FILE} byte limit')
        (out / file).write_bytes(data)
        checkpoints.append({
            'file': file, 'network': net_id, 'architecture': 'SwinIR', 'format': fmt, 'nested_key': nested,
            'hyperparameters': hyperparameters(spec), 'measured_tile_pad': net_info[net_id]['measured_tile_pad'],
            'receptive_radius': net_info[net_id]['receptive_radius'],
            'load_options': {}, 'tensors': len(sd), 'bytes': len(data), 'sha256': sha256(data),
            'runs': [{k: r[k] for k in ('tile', 'tile_pad', 'pre_pad', 'expected', 'width', 'height', 'pixels_sha256')}
                     for r in net_info[net_id]['runs']],
        })

    manifest = {
        'description': 'Random-weight SwinIR checkpoints with the outputs PyTorch computes for input.png through '
                       'RealESRGANer.enhance (RGB 8-bit), whole and tiled, and the measured tile pad.',
        'generated_by': {
            'command': COMMAND, 'cwd': 'repository root',
            'scripts': ['tools/reference/make_swinir_fixtures.py', 'tools/reference/swinir_arch.py',
                        'tools/reference/make_variant_fixtures.py', 'tools/reference/realesrgan_reference.py'],
            'torch_version': torch.__version__, 'numpy_version': np.__version__, 'torch_threads': THREADS,
            'device': 'cpu',
        },
        'input': {'file': 'input.png', 'width': INPUT_W, 'height': INPUT_H,
                  'pixels_sha256': sha256(np.ascontiguousarray(img).tobytes()),
                  'description': 'synthetic: red/green ramps, blue 2-D sine, +-12 checker, seeded noise'},
        'pipeline': [
            'PNG RGB uint8 -> float32 / 255 -> NCHW',
            'pre_pad 0; alignment pad (reflect, right/bottom) to a multiple of 2 for scale 2',
            'SwinIR itself pads (reflect, right/bottom) to a multiple of window_size and crops its output',
            f'whole image (tile 0) or RealESRGANer.tile_process(tile {TILE}, tile_pad = the measured pad)',
            'crop the pads; clamp [0,1]; (x * 255.0).round() in float32, half to even; uint8',
        ],
        'checkpoints': checkpoints,
        'networks': net_info,
        'notes': [
            'SwinIR is not tile-exact: its windows are aligned to the padded tile and the shifted windows wrap '
            'around it. measured_tile_pad is the smallest multiple of the window size from which every multiple '
            f'up to {MAX_PAD} keeps the tiled 8-bit output within 1/255 of the whole one (tile 16), on input.png '
            f'and on a {LARGE_W}x{LARGE_H} synthetic input; pads (or tiles) that are not multiples of the window '
            'misalign the window grids and stay far off. receptive_radius (what superres uses) is window_size x '
            'the number of Swin blocks, at least every measured pad. The tiled expected output is PyTorch tiled '
            'the same way (tile 16, the measured pad).',
            'num_feat is 16 here (64 in every published model) to keep the files small; superres reads it from '
            'the tensors.',
        ],
    }
    with open(out / 'manifest.json', 'w') as f:
        json.dump(manifest, f, indent=1)
        f.write('\n')
    for path in sorted(out.iterdir()):
        size = path.stat().st_size
        if size > MAX_FILE:
            raise SystemExit(f'{path.name}: {size} bytes, over the {MAX_FILE} byte limit')
        print(f'{size:>7}  {path.name}', file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', type=Path, default=OUT, help=f'output folder (default: {OUT.relative_to(REPO_ROOT)})')
    generate(parser.parse_args().out.resolve())


if __name__ == '__main__':
    main()
