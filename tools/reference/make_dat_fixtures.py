#!/usr/bin/python3
"""Small random-weight DAT checkpoints, with the outputs PyTorch computes for them through the
RealESRGANer pipeline (whole image and tiled), and the measured tile pad.

Run from the repository root with Debian's python3-torch:

    /usr/bin/python3 tools/reference/make_dat_fixtures.py

Writes packages/models/test/fixtures/dat/: input.png (the SwinIR/HAT/OmniSR fixtures' 45x38
image, a multiple of neither window), *.pth (torch zip, the state dict under `params` as the
authors release theirs, or `params_ema` as BasicSR-style trainers save), *.safetensors,
<network>.png (whole), <network>_tile16_pad<P>.png (tiled), manifest.json.

Networks (dat_arch.py; expansion_factor 2; num_feat 16 where upstream fixes 64, to keep the
files small):
  dat_x2        embed_dim 64 (the smallest whose position bias varies with the position: its MLP
                width is ((64 / 2) // 4) // 4 = 2), split [2, 4], depths [2, 1] (the second group's
                head count is read from the position-bias MLP), heads [4, 2], qkv_bias, '3conv',
                'pixelshuffle' x2
  dat_light_x4  embed_dim 32 (MLP width 1: the bias is one constant per head, as in DAT-light's
                embed_dim 60), split [4, 8], depths [3, 2], heads [2, 4], no qkv_bias, '1conv',
                'pixelshuffledirect' x4
Shifted blocks: group 1 block 0 in both, group 0 block 2 in dat_light_x4; img_size 16 and 8, so the
state dicts hold attn_mask_0/1 (masks for img_size x img_size) as upstream's do.

DAT is not tile-exact at any pad: the channel attention of every odd block spans all tokens of the
tile, and every block's channel interaction averages the whole tile. The tile pad is MEASURED as for
OmniSR (make_omnisr_fixtures.py's settled_pad): for pads 8, 16, ..., 64 (multiples of both
windows' common size, so that tiles keep the whole image's window grid) the tiled 8-bit output
(tile 16) is compared with the whole image's, on input.png and on a larger 96x80 input; the pad
recorded is the largest settled pad; the tiled expected outputs are PyTorch tiled at it and at 8.
"""

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dat_arch  # noqa: E402
from dat_arch import DAT, Branch, ChannelAttention, SpatialAttention, SpatialGate  # noqa: E402
from make_omnisr_fixtures import settled_pad  # noqa: E402
from make_swinir_fixtures import INPUT_H, INPUT_W, calibrate, make_input, to_tensor  # noqa: E402
from make_variant_fixtures import (  # noqa: E402
    check_healthy, output_stats, probe_summary, read_png, read_safetensors, read_torch, safetensors_bytes, sha256,
    torch_bytes, write_png)
from realesrgan_reference import diff_summary, enhance_float, quantize  # noqa: E402

THREADS = 2
REPO_ROOT = Path(__file__).resolve().parents[2]
OUT = REPO_ROOT / 'packages/models/test/fixtures/dat'
COMMAND = '/usr/bin/python3 tools/reference/make_dat_fixtures.py'
LARGE_W, LARGE_H = 96, 80
TILE = 16
PADS = list(range(8, 65, 8))
SHORT_PAD = 8

# embed_dim 64 is the smallest width whose position bias depends on the position at all.
MAX_FILE = 800 * 1024
COMMON = dict(in_chans=3, expansion_factor=2.0, img_range=1.0, num_feat=16)
NETWORKS = [
    dict(id='dat_x2', upscale=2, embed_dim=64, split_size=[2, 4], depth=[2, 1], num_heads=[4, 2], qkv_bias=True,
         resi_connection='3conv', upsampler='pixelshuffle', img_size=16, seed=1601),
    dict(id='dat_light_x4', upscale=4, embed_dim=32, split_size=[4, 8], depth=[3, 2], num_heads=[2, 4],
         qkv_bias=False, resi_connection='1conv', upsampler='pixelshuffledirect', img_size=8, seed=1602),
]
CHECKPOINTS = [
    ('dat_x2.pth', 'dat_x2', 'pytorch-zip', 'params'),
    ('dat_light_x4.pth', 'dat_light_x4', 'pytorch-zip', 'params_ema'),
    ('dat_light_x4.safetensors', 'dat_light_x4', 'safetensors', None),
]


def build_network(spec):
    args = {k: v for k, v in spec.items() if k not in ('id', 'seed')}
    net = DAT(**COMMON, **args)
    gen = torch.Generator().manual_seed(spec['seed'])

    def randn(shape, std):
        return torch.randn(shape, generator=gen) * std

    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                fan_in = module.weight[0].numel()
                module.weight.copy_(randn(module.weight.shape, 1.2 / math.sqrt(fan_in)))
                if module.bias is not None:
                    module.bias.copy_(randn(module.bias.shape, 0.05))
            elif isinstance(module, nn.LayerNorm):
                module.weight.copy_(1 + randn(module.weight.shape, 0.3))
                module.bias.copy_(randn(module.bias.shape, 0.1))
            elif isinstance(module, nn.BatchNorm2d):
                module.weight.copy_(1 + randn(module.weight.shape, 0.2))
                module.bias.copy_(randn(module.bias.shape, 0.1))
                module.running_mean.copy_(randn(module.running_mean.shape, 0.3))
                module.running_var.copy_(0.4 + torch.rand(module.running_var.shape, generator=gen))
                module.num_batches_tracked.fill_(1000)
            elif isinstance(module, ChannelAttention):
                module.temperature.copy_(0.5 + 3 * torch.rand(module.temperature.shape, generator=gen))
            elif isinstance(module, Branch):
                # The bias MLP's last layer scaled up so the position bias moves the softmax.
                module.pos.pos3[2].weight.mul_(3)
    return net.eval()


def hyperparameters(spec):
    h = dict(COMMON)
    h.update({k: v for k, v in spec.items() if k not in ('id', 'seed')})
    return h


def pad_curve(net, img_u8, scale):
    """max and mean |tiled - whole| (8-bit levels) at tile TILE for each pad of PADS."""
    whole = quantize(enhance_float(net, img_u8, scale, 0, 10, 0)).astype(np.int16)
    curve = {}
    for pad in PADS:
        d = np.abs(quantize(enhance_float(net, img_u8, scale, TILE, pad, 0)).astype(np.int16) - whole)
        curve[pad] = {'max': int(d.max()), 'mean': round(float(d.mean()), 4)}
    return curve


@torch.no_grad()
def sensitivity(net, spec, img_u8, ref_u8):
    """Porting mistakes the fixture must catch: each changes some output value by more than 1/255."""
    scale = spec['upscale']
    mods = list(net.modules())
    spatial = [m for m in mods if isinstance(m, SpatialAttention)]
    channel = [m for m in mods if isinstance(m, ChannelAttention)]
    branches = [m for m in mods if isinstance(m, Branch)]
    gates = [m for m in mods if isinstance(m, SpatialGate)]
    bns = [m for m in mods if isinstance(m, nn.BatchNorm2d)]
    probes = {}

    def run():
        return quantize(enhance_float(net, img_u8, scale, 0, 10, 0))

    def with_attr(modules, name, value, label):
        saved = [getattr(m, name) for m in modules]
        for m in modules:
            setattr(m, name, value(m))
        probes[label] = run()
        for m, old in zip(modules, saved):
            setattr(m, name, old)

    def with_forward(modules, forward, label):
        for m in modules:
            m.forward = forward(m)
        probes[label] = run()
        for m in modules:
            del m.__dict__['forward']

    with_attr(spatial, 'shifted', lambda m: False, 'shift_skipped')
    saved_mask = dat_arch.region_mask
    dat_arch.region_mask = lambda *a: torch.zeros_like(saved_mask(*a))
    probes['shift_mask_skipped'] = run()
    dat_arch.region_mask = saved_mask
    with_forward([m.pos for m in branches], lambda m: (lambda b: torch.zeros(b.shape[0], m.pos3[2].out_features)),
                 'position_bias_skipped')
    for m in branches:
        m.ws, m.hs = m.hs, m.ws
    probes['window_transposed'] = run()
    for m in branches:
        m.ws, m.hs = m.hs, m.ws
    with_forward([m.channel_interaction for m in spatial + channel], lambda m: (lambda x: x.mean((2, 3), keepdim=True) * 0),
                 'channel_interaction_skipped')
    with_forward([m.spatial_interaction for m in spatial + channel], lambda m: (lambda x: x[:, :1] * 0),
                 'spatial_interaction_skipped')
    with_forward([m.norm for m in gates], lambda m: (lambda x: x), 'spatial_gate_norm_skipped')
    with_attr(channel, 'temperature', lambda m: nn.Parameter(torch.ones_like(m.temperature)), 'temperature_ignored')
    saved_normalize = F.normalize
    F.normalize = lambda x, dim: x
    probes['qk_normalisation_skipped'] = run()
    F.normalize = saved_normalize
    stats = [(b.running_mean.clone(), b.running_var.clone()) for b in bns]
    for b in bns:
        b.running_mean.zero_()
        b.running_var.fill_(1)
    probes['batchnorm_statistics_ignored'] = run()
    for b, (mean, var) in zip(bns, stats):
        b.running_mean.copy_(mean)
        b.running_var.copy_(var)
    out = {}
    for name, u8 in probes.items():
        out[name] = probe_summary(ref_u8, u8)
        # With (dim / 2) // 16 == 1 the bias MLP's LayerNorm sees one value: the bias is one
        # constant per head, which the softmax ignores (DAT-light, embed_dim 60, is such a network).
        inert = name == 'position_bias_skipped' and (hyperparameters(spec)['embed_dim'] // 2 // 4) // 4 < 2
        out[name]['required'] = not inert
        if out[name]['max_abs_u8'] <= 1 and not inert:
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
    large = make_input(LARGE_W, LARGE_H, 20240612)
    write_png(out / 'input.png', img)
    if not np.array_equal(read_png(out / 'input.png'), img):
        raise SystemExit('input.png does not read back')

    nets, curves = {}, {}
    for spec in NETWORKS:
        net = build_network(spec)
        calibrate(net, to_tensor(img))
        nets[spec['id']] = net
        curves[spec['id']] = {'input.png': pad_curve(net, img, spec['upscale']),
                              f'{LARGE_W}x{LARGE_H}': pad_curve(net, large, spec['upscale'])}
        print(f"{spec['id']}: {curves[spec['id']]}", file=sys.stderr)
    settled = {net_id: {k: settled_pad(c) for k, c in by_input.items()} for net_id, by_input in curves.items()}
    tile_pad = max(p['pad'] for s in settled.values() for p in s.values())
    print(f'measured tile pad {tile_pad}: {settled}', file=sys.stderr)

    net_info = {}
    for spec in NETWORKS:
        net = nets[spec['id']]
        scale = spec['upscale']
        whole_f = enhance_float(net, img, scale, 0, 10, 0)
        whole_u8 = quantize(whole_f)
        tiled = []
        for pad in (tile_pad, SHORT_PAD):
            tiled_f = enhance_float(net, img, scale, TILE, pad, 0)
            tiled_u8 = quantize(tiled_f)
            vs_whole = diff_summary(whole_u8, tiled_u8)
            vs_whole['float_max_abs_diff'] = float(np.abs(whole_f - tiled_f).max())
            tiled.append((TILE, pad, tiled_f, tiled_u8, vs_whole))
        runs = []
        for tile, pad, out_f, out_u8, vs_whole in ((0, 10, whole_f, whole_u8, None), *tiled):
            h, w = out_u8.shape[:2]
            if (w, h) != (INPUT_W * scale, INPUT_H * scale):
                raise SystemExit(f"{spec['id']}: output {w}x{h}")
            stats = output_stats(out_f, out_u8)
            check_healthy(f"{spec['id']} tile {tile}", stats)
            name = f"{spec['id']}.png" if tile == 0 else f"{spec['id']}_tile{tile}_pad{pad}.png"
            entry = {'tile': tile, 'tile_pad': pad, 'pre_pad': 0, 'expected': name, 'width': int(w), 'height': int(h),
                     'pixels_sha256': sha256(np.ascontiguousarray(out_u8).tobytes()), 'stats': stats}
            if tile:
                entry['vs_whole'] = vs_whole
            write_png(out / name, out_u8)
            runs.append(entry)
        net_info[spec['id']] = {
            'architecture': 'DAT',
            'hyperparameters': hyperparameters(spec),
            'tile_pad_curve': {k: {str(p): d for p, d in c.items()} for k, c in curves[spec['id']].items()},
            'settled_pad': settled[spec['id']],
            'seed': spec['seed'],
            'parameters': int(sum(p.numel() for p in net.parameters())),
            'runs': runs,
            'sensitivity': sensitivity(net, spec, img, whole_u8),
        }
        print(f"{spec['id']}: std {runs[0]['stats']['float_std']}, mean {runs[0]['stats']['float_mean']}, "
              f"clamped {runs[0]['stats']['clamped_fraction']}, tiled vs whole "
              f"{[(r['tile_pad'], r['vs_whole']['max_abs_diff']) for r in runs[1:]]}", file=sys.stderr)

    checkpoints = []
    for file, net_id, fmt, nested in CHECKPOINTS:
        spec = next(s for s in NETWORKS if s['id'] == net_id)
        sd = nets[net_id].state_dict()
        if fmt == 'safetensors':
            data = safetensors_bytes(sd)
            back = read_safetensors(data)
        else:
            data = torch_bytes({nested: sd} if nested else sd)
            back = read_torch(data)
            back = back[nested] if nested else back
        if sorted(back) != sorted(sd) or any(not torch.equal(back[k], sd[k]) for k in sd):
            raise SystemExit(f'{file}: does not read back')
        if len(data) > MAX_FILE:
            raise SystemExit(f'{file}: {len(data)} bytes, over the {MAX_FILE} byte limit')
        (out / file).write_bytes(data)
        checkpoints.append({
            'file': file, 'network': net_id, 'architecture': 'DAT', 'format': fmt, 'nested_key': nested,
            'hyperparameters': hyperparameters(spec), 'measured_tile_pad': tile_pad,
            'load_options': {}, 'tensors': len(sd), 'bytes': len(data), 'sha256': sha256(data),
            'runs': [{k: r[k] for k in ('tile', 'tile_pad', 'pre_pad', 'expected', 'width', 'height', 'pixels_sha256')}
                     for r in net_info[net_id]['runs']],
        })
    manifest = {
        'description': 'Random-weight DAT checkpoints with the outputs PyTorch computes for input.png through '
                       'RealESRGANer.enhance (RGB 8-bit), whole and tiled, and the measured tile pad.',
        'generated_by': {
            'command': COMMAND, 'cwd': 'repository root',
            'scripts': ['tools/reference/make_dat_fixtures.py', 'tools/reference/dat_arch.py',
                        'tools/reference/make_omnisr_fixtures.py', 'tools/reference/make_swinir_fixtures.py',
                        'tools/reference/make_variant_fixtures.py', 'tools/reference/realesrgan_reference.py'],
            'torch_version': torch.__version__, 'numpy_version': np.__version__, 'torch_threads': THREADS,
            'device': 'cpu',
        },
        'input': {'file': 'input.png', 'width': INPUT_W, 'height': INPUT_H,
                  'pixels_sha256': sha256(np.ascontiguousarray(img).tobytes())},
        'pipeline': [
            'PNG RGB uint8 -> float32 / 255 -> NCHW',
            'pre_pad 0; alignment pad (reflect, right/bottom) to a multiple of 2 for scale 2',
            'DAT does not pad the image; its spatial attention zero-pads q, k, v to a multiple of max(split_size)',
            f'whole image (tile 0) or RealESRGANer.tile_process(tile {TILE}, tile_pad = the measured pad or {SHORT_PAD})',
            'crop the pads; clamp [0,1]; (x * 255.0).round() in float32, half to even; uint8',
        ],
        'checkpoints': checkpoints,
        'networks': net_info,
        'notes': [
            'DAT is not tile-exact at any pad (channel attention over all tokens, channel interaction averaging the '
            'tile); the pad is measured, the curves are under networks.*.tile_pad_curve.',
            'num_feat is 16 here (64 in every published model: upstream fixes it) to keep the files small.',
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
