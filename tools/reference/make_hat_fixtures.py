#!/usr/bin/python3
"""Small random-weight HAT checkpoints, with the outputs PyTorch computes for them through the
RealESRGANer pipeline (whole image and tiled), and the measured tile pad. Follows
make_swinir_fixtures.py (same input, tiling, pad scan and file formats).

Run from the repository root with Debian's python3-torch:

    /usr/bin/python3 tools/reference/make_hat_fixtures.py

Writes packages/models/test/fixtures/hat/: input.png (the SwinIR fixtures' 45x38 image), *.pth
(state dict under `params_ema`, as the authors release theirs, with the top-level
`relative_position_index_SA` / `relative_position_index_OCA` buffers), *.safetensors, <network>.png
(whole), <network>_tile16_pad<P>.png (tiled), manifest.json.

Networks (hat_arch.py, embed_dim 12, depths [2, 2], heads [2, 2], window 4, overlap_ratio 0.5,
compress_ratio 3, squeeze_factor 4, conv_scale 0.01 (upstream's fixed value: it is not in the state
dict), mlp_ratio 2, img_size 16, num_feat 16, 'pixelshuffle'): x2 '1conv' and x4 'identity' (upstream HAT's two resi_connection options).
The CAB convolutions get larger random weights so that the CAB (scaled by 0.01) moves the output.

HAT is not tile-exact: besides SwinIR's window effects, the CAB's channel attention pools over the
whole (tile) image. measured_pad is the smallest multiple of the window from which every multiple up
to MAX_PAD keeps the tiled 8-bit output within 1/255 of the whole one (see make_swinir_fixtures.py).
"""

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hat_arch  # noqa: E402
import swinir_arch  # noqa: E402
from hat_arch import HAT  # noqa: E402
from make_swinir_fixtures import (  # noqa: E402
    INPUT_H, INPUT_W, LARGE_H, LARGE_W, MAX_FILE, MAX_PAD, TILE, alignment, calibrate, make_input, measured_pad,
    pad_scan, read_safetensors, safetensors_bytes, to_tensor)
from make_variant_fixtures import check_healthy, output_stats, probe_summary, read_png, read_torch, sha256, torch_bytes, write_png  # noqa: E402
from realesrgan_reference import diff_summary, enhance_float, quantize  # noqa: E402

THREADS = 2
REPO_ROOT = Path(__file__).resolve().parents[2]
OUT = REPO_ROOT / 'packages/models/test/fixtures/hat'
COMMAND = '/usr/bin/python3 tools/reference/make_hat_fixtures.py'

COMMON = dict(img_size=16, depths=[2, 2], num_heads=[2, 2], window_size=4, compress_ratio=3, squeeze_factor=4,
              conv_scale=0.01, overlap_ratio=0.5, mlp_ratio=2.0, img_range=1.0, num_feat=16, embed_dim=12)
NETWORKS = [
    dict(id='hat_x2', scale=2, resi_connection='1conv', seed=1501),
    dict(id='hat_x4', scale=4, resi_connection='identity', seed=1502),
]
CHECKPOINTS = [
    ('hat_x2.pth', 'hat_x2', 'pytorch-zip', 'params_ema'),
    ('hat_x4.safetensors', 'hat_x4', 'safetensors', None),
]
CAB_GAIN = 1.0


def build_network(spec):
    net = HAT(in_chans=3, upscale=spec['scale'], upsampler='pixelshuffle', resi_connection=spec['resi_connection'],
              **COMMON)
    gen = torch.Generator().manual_seed(spec['seed'])
    with torch.no_grad():
        for name, module in net.named_modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                fan_in = module.weight[0].numel()
                gain = CAB_GAIN if '.cab.0' in name or '.cab.2' in name else 1.0
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen) * (1.2 * gain / math.sqrt(fan_in)))
                module.bias.copy_(torch.randn(module.bias.shape, generator=gen) * 0.05)
            elif isinstance(module, nn.LayerNorm):
                module.weight.copy_(1 + 0.3 * torch.randn(module.weight.shape, generator=gen))
                module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=gen))
            elif isinstance(module, (hat_arch.WindowAttention, hat_arch.OCAB)):
                module.relative_position_bias_table.copy_(
                    1.5 * torch.randn(module.relative_position_bias_table.shape, generator=gen))
    return net.eval()


def hyperparameters(spec):
    h = {k: v for k, v in COMMON.items()}
    h.update({'in_chans': 3, 'upscale': spec['scale'], 'upsampler': 'pixelshuffle',
              'resi_connection': spec['resi_connection'], 'patch_norm': True})
    return h


@torch.no_grad()
def sensitivity(net, spec, img_u8, ref_u8):
    scale = spec['scale']
    blocks = [b for layer in net.layers for b in layer.residual_group.blocks]
    ocabs = [layer.residual_group.overlap_attn for layer in net.layers]
    probes = {}

    def run():
        return quantize(enhance_float(net, img_u8, scale, 0, 10, 0))

    saved_mask = swinir_arch.shift_mask
    hat_arch.shift_mask = lambda h, w, ws, s: torch.zeros_like(saved_mask(h, w, ws, s))
    probes['shift_mask_skipped'] = run()
    hat_arch.shift_mask = saved_mask
    for b in blocks:
        b.conv_scale = 0.0
    probes['cab_skipped'] = run()
    for b in blocks:
        b.conv_scale = 0.1
    probes['conv_scale_0.1'] = run()
    for b in blocks:
        b.conv_scale = COMMON['conv_scale']
    atts = [b.conv_block.cab[3] for b in blocks]
    saved_forward = hat_arch.ChannelAttention.forward
    hat_arch.ChannelAttention.forward = lambda self, x: x
    probes['channel_attention_skipped'] = run()
    hat_arch.ChannelAttention.forward = saved_forward
    del atts
    tables = [o.relative_position_bias_table.clone() for o in ocabs]
    for o in ocabs:
        o.relative_position_bias_table.zero_()
    probes['oca_position_bias_skipped'] = run()
    for o, t in zip(ocabs, tables):
        o.relative_position_bias_table.copy_(t)
    oca = net.relative_position_index_OCA.clone()
    net.relative_position_index_OCA.copy_(torch.remainder(oca, (2 * COMMON['window_size'] + 1) ** 2))
    same = np.array_equal(run(), ref_u8)
    net.relative_position_index_OCA.copy_(oca.flip(0))
    probes['oca_index_flipped'] = run()
    net.relative_position_index_OCA.copy_(oca)
    if not same:
        raise SystemExit('wrapping the OCA index (mod table size) changed the output')
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
    ws = COMMON['window_size']
    nets, net_info = {}, {}
    for spec in NETWORKS:
        net = build_network(spec)
        calibrate(net, to_tensor(img))
        nets[spec['id']] = net
        scale = spec['scale']
        scan = pad_scan(net, img, scale, 1)
        scan_large = pad_scan(net, large, scale, ws)
        pad = measured_pad(ws, scan, scan_large)
        bound = ws * (sum(COMMON['depths']) + len(COMMON['depths']))  # one window per HAB and per OCAB
        if pad > bound:
            raise SystemExit(f"{spec['id']}: measured pad {pad} exceeds the radius {bound}")
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
            'hyperparameters': hyperparameters(spec), 'measured_tile_pad': pad, 'receptive_radius': bound,
            'tile_pad_scan': {'input_png': scan, f'synthetic_{LARGE_W}x{LARGE_H}': scan_large},
            'seed': spec['seed'], 'parameters': int(sum(p.numel() for p in net.parameters())),
            'runs': runs, 'sensitivity': sensitivity(net, spec, img, whole_u8),
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
            'file': file, 'network': net_id, 'architecture': 'HAT', 'format': fmt, 'nested_key': nested,
            'hyperparameters': hyperparameters(spec), 'measured_tile_pad': net_info[net_id]['measured_tile_pad'],
            'receptive_radius': net_info[net_id]['receptive_radius'],
            'load_options': {}, 'tensors': len(sd), 'bytes': len(data), 'sha256': sha256(data),
            'runs': [{k: r[k] for k in ('tile', 'tile_pad', 'pre_pad', 'expected', 'width', 'height', 'pixels_sha256')}
                     for r in net_info[net_id]['runs']],
        })
    manifest = {
        'description': 'Random-weight HAT checkpoints with the outputs PyTorch computes for input.png through '
                       'RealESRGANer.enhance (RGB 8-bit), whole and tiled, and the measured tile pad.',
        'generated_by': {
            'command': COMMAND, 'cwd': 'repository root',
            'scripts': ['tools/reference/make_hat_fixtures.py', 'tools/reference/hat_arch.py',
                        'tools/reference/swinir_arch.py', 'tools/reference/make_swinir_fixtures.py',
                        'tools/reference/make_variant_fixtures.py', 'tools/reference/realesrgan_reference.py'],
            'torch_version': torch.__version__, 'numpy_version': np.__version__, 'torch_threads': THREADS,
            'device': 'cpu',
        },
        'input': {'file': 'input.png', 'width': INPUT_W, 'height': INPUT_H,
                  'pixels_sha256': sha256(np.ascontiguousarray(img).tobytes())},
        'pipeline': [
            'PNG RGB uint8 -> float32 / 255 -> NCHW',
            'pre_pad 0; alignment pad (reflect, right/bottom) to a multiple of 2 for scale 2',
            'HAT itself pads (reflect, right/bottom) to a multiple of window_size and crops its output',
            f'whole image (tile 0) or RealESRGANer.tile_process(tile {TILE}, tile_pad = the measured pad)',
            'crop the pads; clamp [0,1]; (x * 255.0).round() in float32, half to even; uint8',
        ],
        'checkpoints': checkpoints,
        'networks': net_info,
        'notes': [
            'HAT is not tile-exact (window grids, shifted windows, OCAB overlap, and the CAB channel attention pools '
            'over the whole tile); measured_tile_pad as for SwinIR. conv_scale 0.01 is fixed (not in the state dict).',
            'relative_position_index_OCA holds upstream raw values, some negative; PyTorch wraps them (+ table size).',
            'num_feat is 16 here (64 in every published model) to keep the files small.',
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
