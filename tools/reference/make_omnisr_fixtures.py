#!/usr/bin/python3
"""Small random-weight OmniSR checkpoints, with the outputs PyTorch computes for them through the
RealESRGANer pipeline (whole image and tiled), and the measured tile pad.

Run from the repository root with Debian's python3-torch:

    /usr/bin/python3 tools/reference/make_omnisr_fixtures.py

Writes packages/models/test/fixtures/omnisr/:
  input.png        a synthetic 45x38 RGB image (a multiple of neither window size, 4 or 8)
  *.pth            torch zip files, the state dict under `params_ema` or `params`, or bare
  *.safetensors    written by hand
  <network>.png    expected 8-bit output, whole image
  <network>_tile16_pad<P>.png   expected tiled output (tile 16, tile_pad P = the measured pad, and 16)
  manifest.json    what each file is, how to load it, what it must produce, the pad measurement

Networks (omnisr_arch.py): num_feat 16, one OSAG; x2 with window 4, x4 with window 8 (both with
the relative position bias), and x4 with window 8 without it and without conv biases.

OmniSR is not tile-exact at any pad: the squeeze-excitation in every MBConv averages the whole
tile, the grid attention's windows hold pixels H/w apart across the whole (padded) tile, and the
grid channel attention normalises over every w-th pixel of the tile; the zero padding to a
multiple of the window also depends on the tile's size. The tile pad is therefore MEASURED: for
pads 16, 24, ..., 64 (multiples of both windows, so that a tile's windows line up with the whole
image's) the tiled 8-bit output (tile 16) is compared with the whole image's, on input.png and on
a larger 96x80 input, for every network. Per network and input the settled pad is the smallest from
which every larger pad measured stays within 1/255 of the whole image; where no pad does, the
smallest from which the max difference no longer drops by more than 1 level ("stops changing").
The pad recorded is the largest settled pad; the tiled expected outputs are PyTorch tiled at it.
With these random weights no pad short of the whole image gets the 96x80 input within 1/255: the
grid attention, the grid channel attention and the squeeze-excitation each move it (manifest
tile_pad_measurement has the curves).
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
from make_variant_fixtures import (  # noqa: E402
    check_healthy, output_stats, probe_summary, read_png, read_safetensors, read_torch, safetensors_bytes, sha256,
    torch_bytes, write_png)
from omnisr_arch import ESA, Attention, ChannelAttention, LayerNorm2d, OmniSR, SqueezeExcitation  # noqa: E402
from realesrgan_reference import diff_summary, enhance_float, quantize  # noqa: E402

THREADS = 2
REPO_ROOT = Path(__file__).resolve().parents[2]
OUT = REPO_ROOT / 'packages/models/test/fixtures/omnisr'
COMMAND = '/usr/bin/python3 tools/reference/make_omnisr_fixtures.py'
MAX_FILE = 300 * 1024
MAX_TOTAL = 3 * 1024 * 1024
INPUT_W, INPUT_H = 45, 38
LARGE_W, LARGE_H = 96, 80
TILE = 16
# ESA needs 15 rows and columns (a stride-2 3x3 conv, then a 7x7 max pool): the 6-row last tile
# row of input.png runs from pad 10 (16 rows) on.
# Pads are multiples of 8, the windows' common multiple: with tile 16, a tile's windows then
# line up with the whole image's (another pad shifts them, and the output moves by up to 255).
PADS = list(range(16, 65, 8))
# A second tiled run at a pad where tiles of input.png are not the whole image (tiles of 29..48
# pixels, padded to the window at run time): the tiled path itself, against PyTorch tiled alike.
SHORT_PAD = 16
OUTPUT_TARGET = dict(mean=0.5, std=0.2)

NETWORKS = [
    dict(id='omnisr_x2', scale=2, num_feat=16, block_num=1, res_num=1, window_size=4, pe=True, bias=True, seed=1401),
    dict(id='omnisr_x4', scale=4, num_feat=16, block_num=1, res_num=1, window_size=8, pe=True, bias=True, seed=1402),
    dict(id='omnisr_nope_x4', scale=4, num_feat=16, block_num=1, res_num=1, window_size=8, pe=False, bias=False,
         seed=1403),
]

# file, network, format, nested key
CHECKPOINTS = [
    ('omnisr_x2.pth', 'omnisr_x2', 'pytorch-zip', 'params_ema'),
    ('omnisr_x2.safetensors', 'omnisr_x2', 'safetensors', None),
    ('omnisr_x4.pth', 'omnisr_x4', 'pytorch-zip', 'params'),
    ('omnisr_nope_x4.pth', 'omnisr_nope_x4', 'pytorch-zip', None),
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


# --------------------------------------------------------------------------------------------
# Networks
# --------------------------------------------------------------------------------------------

def randn(shape, gen, std):
    return torch.randn(shape, generator=gen) * std


def build_network(spec):
    gen = torch.Generator().manual_seed(spec['seed'])
    net = OmniSR(num_in_ch=3, num_out_ch=3, num_feat=spec['num_feat'], block_num=spec['block_num'], pe=spec['pe'],
                 window_size=spec['window_size'], res_num=spec['res_num'], up_scale=spec['scale'], bias=spec['bias'])
    with torch.no_grad():
        for name, m in net.named_modules():
            # The projections that end a residual branch add a modest update to the stream (as in
            # a trained network); at full gain a random network's output is ruled by the global
            # terms (squeeze-excitation, grid attention) and no tile pad comes near the whole image.
            gain = 0.35 if name.endswith(('to_out.0', 'project_out', 'fn.5')) else 1.2
            if isinstance(m, nn.Conv2d):
                fan_in = m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
                m.weight.copy_(randn(m.weight.shape, gen, gain / math.sqrt(fan_in)))
                if m.bias is not None:
                    m.bias.copy_(randn(m.bias.shape, gen, 0.1))
            elif isinstance(m, nn.Linear):
                m.weight.copy_(randn(m.weight.shape, gen, gain / math.sqrt(m.in_features)))
            elif isinstance(m, (nn.LayerNorm, LayerNorm2d)):
                m.weight.copy_(1 + randn(m.weight.shape, gen, 0.3))
                m.bias.copy_(randn(m.bias.shape, gen, 0.2))
            elif isinstance(m, nn.Embedding):
                m.weight.copy_(randn(m.weight.shape, gen, 1.0))
            elif isinstance(m, ChannelAttention):
                # Upstream initialises it to ones; vary it per head.
                m.temperature.copy_(1 + randn(m.temperature.shape, gen, 0.3))
    return net.eval()


def aligned(img_u8, scale):
    x = torch.from_numpy(np.ascontiguousarray(np.transpose(img_u8.astype(np.float32) / 255, (2, 0, 1)))).unsqueeze(0)
    mod = {2: 2, 1: 4}.get(scale, 1)
    ph, pw = (-x.shape[2]) % mod, (-x.shape[3]) % mod
    return F.pad(x, (0, pw, 0, ph), 'reflect') if ph or pw else x


@torch.no_grad()
def calibrate_up_conv(net, x):
    """Rescale the up conv per output channel so that, on this input, the output has the target
    std and mean (each of the s^2 sub-pixel channels of a colour alike)."""
    feats = {}
    hook = net.up[0].register_forward_hook(lambda m, i, o: feats.__setitem__('in', i[0]))
    net(x)
    hook.remove()
    conv = net.up[0]
    raw = F.conv2d(feats['in'], conv.weight, None, 1, 1)
    conv.weight.mul_((OUTPUT_TARGET['std'] / raw.std(dim=(0, 2, 3))).view(-1, 1, 1, 1))
    raw = F.conv2d(feats['in'], conv.weight, None, 1, 1)
    if conv.bias is not None:
        conv.bias.copy_(OUTPUT_TARGET['mean'] - raw.mean(dim=(0, 2, 3)))
    else:
        # Without biases the mean is the input conv's to set: shift through a uniform weight term.
        raise SystemExit('calibrate bias-free networks through calibrate_bias_free')


@torch.no_grad()
def calibrate_bias_free(net, x):
    """Bias-free network: scale the up conv to the target std; its mean then comes from the
    features (checked by check_healthy)."""
    feats = {}
    hook = net.up[0].register_forward_hook(lambda m, i, o: feats.__setitem__('in', i[0]))
    net(x)
    hook.remove()
    conv = net.up[0]
    raw = F.conv2d(feats['in'], conv.weight, None, 1, 1)
    conv.weight.mul_((OUTPUT_TARGET['std'] / raw.std(dim=(0, 2, 3))).view(-1, 1, 1, 1))
    # Make the (fixed) channel means positive and near the target: flip channels whose mean is
    # negative, and shrink those whose mean lies beyond it.
    raw = F.conv2d(feats['in'], conv.weight, None, 1, 1)
    mean = raw.mean(dim=(0, 2, 3))
    sign = torch.where(mean < 0, -1.0, 1.0)
    conv.weight.mul_(sign.view(-1, 1, 1, 1))


def hyperparameters(spec):
    return {'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': spec['num_feat'], 'block_num': spec['block_num'],
            'pe': spec['pe'], 'window_size': spec['window_size'], 'res_num': spec['res_num'],
            'up_scale': spec['scale'], 'bias': spec['bias']}


# --------------------------------------------------------------------------------------------
# The tile pad
# --------------------------------------------------------------------------------------------

@torch.no_grad()
def pad_curve(net, img_u8, scale):
    """max and mean |tiled - whole| (8-bit levels) at tile TILE for each pad of PADS."""
    whole = quantize(enhance_float(net, img_u8, scale, 0, 10, 0)).astype(np.int16)
    curve = {}
    for pad in PADS:
        d = np.abs(quantize(enhance_float(net, img_u8, scale, TILE, pad, 0)).astype(np.int16) - whole)
        curve[pad] = {'max': int(d.max()), 'mean': round(float(d.mean()), 4)}
    return curve


def settled_pad(curve):
    """The smallest pad from which every larger pad measured is within 1/255 of the whole image
    ('within'); where there is none, the smallest pad from which the max difference no longer
    drops by more than 1 level at any larger pad measured ('stops changing')."""
    pads = sorted(curve)
    for i, pad in enumerate(pads):
        if all(curve[p]['max'] <= 1 for p in pads[i:]):
            return {'pad': pad, 'rule': 'within 1/255'}
    for i, pad in enumerate(pads[:-1]):
        if all(curve[p]['max'] >= curve[pad]['max'] - 1 for p in pads[i:]):
            return {'pad': pad, 'rule': 'stops changing', 'max_abs_u8': curve[pad]['max']}
    # Still dropping at the largest pad measured: that pad, said so.
    return {'pad': pads[-1], 'rule': 'not settled: the largest pad measured', 'max_abs_u8': curve[pads[-1]]['max'],
            'mean_abs_u8': curve[pads[-1]]['mean']}


# --------------------------------------------------------------------------------------------
# Porting mistakes the fixture must catch
# --------------------------------------------------------------------------------------------

@torch.no_grad()
def sensitivity(net, spec, img_u8, ref_u8):
    scale = spec['scale']
    required, informational = {}, {}

    def run():
        return quantize(enhance_float(net, img_u8, scale, 0, 10, 0))

    def patched(modules, attribute, replacement):
        # A method is shadowed in the instance's __dict__ and unshadowed after; an attribute,
        # parameter or buffer is set and set back.
        saved = [patched if attribute == 'forward' and 'forward' not in m.__dict__ else getattr(m, attribute)
                 for m in modules]
        for m in modules:
            setattr(m, attribute, replacement(m))
        try:
            return run()
        finally:
            for m, old in zip(modules, saved):
                if old is patched:
                    m.__dict__.pop(attribute)
                else:
                    setattr(m, attribute, old)

    mods = list(net.modules())
    attns = [m for m in mods if isinstance(m, Attention)]
    cas = [m for m in mods if isinstance(m, ChannelAttention)]
    required['window_attention_skipped'] = patched(attns[0::2], 'forward', lambda m: (lambda x: x * 0))
    required['grid_attention_skipped'] = patched(attns[1::2], 'forward', lambda m: (lambda x: x * 0))
    if spec['pe']:
        required['relative_position_bias_dropped'] = patched(attns, 'with_pe', lambda m: False)
        informational['relative_position_bias_transposed'] = patched(
            attns, 'rel_pos_indices', lambda m: m.rel_pos_indices.t().contiguous())
    required['grid_channel_attention_per_window'] = patched(cas[1::2], 'grid', lambda m: False)
    required['channel_attention_skipped'] = patched(cas, 'forward', lambda m: (lambda x: x * 0))
    required['squeeze_excitation_skipped'] = patched(
        [m for m in mods if isinstance(m, SqueezeExcitation)], 'forward', lambda m: (lambda x: x))
    required['esa_skipped'] = patched([m for m in mods if isinstance(m, ESA)], 'forward', lambda m: (lambda x: x))
    informational['layer_norm_eps_1e-6'] = patched([m for m in mods if isinstance(m, nn.LayerNorm)], 'eps',
                                                   lambda m: 1e-6)
    out = {'required': {}, 'informational': {}}
    for kind, probes in (('required', required), ('informational', informational)):
        for name, u8 in probes.items():
            out[kind][name] = probe_summary(ref_u8, u8)
            if kind == 'required' and out[kind][name]['max_abs_u8'] <= 1:
                raise SystemExit(f"{spec['id']}: probe {name} changes no value by more than 1: fixture too weak")
    return out


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

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
        (calibrate_up_conv if spec['bias'] else calibrate_bias_free)(net, aligned(img, spec['scale']))
        nets[spec['id']] = net
        curves[spec['id']] = {'input.png': pad_curve(net, img, spec['scale']),
                              f'{LARGE_W}x{LARGE_H}': pad_curve(net, large, spec['scale'])}
        print(f"{spec['id']}: {curves[spec['id']]}", file=sys.stderr)
    settled = {net_id: {k: settled_pad(c) for k, c in by_input.items()} for net_id, by_input in curves.items()}
    tile_pad = max(p['pad'] for s in settled.values() for p in s.values())
    print(f'measured tile pad {tile_pad}: {settled}', file=sys.stderr)

    net_info = {}
    for spec in NETWORKS:
        net = nets[spec['id']]
        whole_f = enhance_float(net, img, spec['scale'], 0, 10, 0)
        whole_u8 = quantize(whole_f)
        tiled = []
        for pad in (tile_pad, SHORT_PAD):
            tiled_f = enhance_float(net, img, spec['scale'], TILE, pad, 0)
            tiled_u8 = quantize(tiled_f)
            vs_whole = diff_summary(whole_u8, tiled_u8)
            vs_whole['float_max_abs_diff'] = float(np.abs(whole_f - tiled_f).max())
            tiled.append((TILE, pad, tiled_f, tiled_u8, vs_whole))
        runs = []
        for tile, pad, out_f, out_u8, vs_whole in ((0, 10, whole_f, whole_u8, None), *tiled):
            h, w = out_u8.shape[:2]
            if (w, h) != (INPUT_W * spec['scale'], INPUT_H * spec['scale']):
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
            'architecture': 'OmniSR',
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
            'file': file,
            'network': net_id,
            'architecture': 'OmniSR',
            'format': fmt,
            'nested_key': nested,
            'hyperparameters': hyperparameters(spec),
            'receptive_radius': tile_pad,
            # pe False: the window size is not in the tensors (spandrel assumes 8).
            'load_options': {},
            'tensors': len(sd),
            'bytes': len(data),
            'sha256': sha256(data),
            'runs': [{k: r[k] for k in ('tile', 'tile_pad', 'pre_pad', 'expected', 'width', 'height', 'pixels_sha256')}
                     for r in net_info[net_id]['runs']],
        })

    manifest = {
        'description': 'Random-weight OmniSR checkpoints with the outputs PyTorch computes for input.png through '
                       'RealESRGANer.enhance (RGB 8-bit), whole and tiled, and the measured tile pad.',
        'generated_by': {
            'command': COMMAND,
            'cwd': 'repository root',
            'scripts': ['tools/reference/make_omnisr_fixtures.py', 'tools/reference/omnisr_arch.py',
                        'tools/reference/make_variant_fixtures.py', 'tools/reference/realesrgan_reference.py'],
            'torch_version': torch.__version__,
            'numpy_version': np.__version__,
            'torch_threads': THREADS,
            'device': 'cpu',
        },
        'input': {'file': 'input.png', 'width': INPUT_W, 'height': INPUT_H,
                  'pixels_sha256': sha256(np.ascontiguousarray(img).tobytes()),
                  'description': 'synthetic: red/green ramps, blue 2-D sine, +-12 checker, seeded noise; '
                                 'a multiple of neither window size'},
        'pipeline': [
            'PNG RGB uint8 -> float32 / 255 -> NCHW',
            'pre_pad 0; alignment pad (reflect, right/bottom) to a multiple of 2 for scale 2',
            'the network zero-pads (right/bottom) to a multiple of its window size and crops its output',
            f'whole image (tile 0) or RealESRGANer.tile_process(tile {TILE}, tile_pad = the measured pad or {SHORT_PAD})',
            'crop the pads; clamp [0,1]; (x * 255.0).round() in float32, half to even; uint8',
        ],
        'tile_pad_measurement': {
            'tile_pad': tile_pad,
            'method': f'tile {TILE}, pads {PADS} (multiples of 8: windows line up), every network, on input.png '
                      f'({INPUT_W}x{INPUT_H}) and a {LARGE_W}x{LARGE_H} input of the same kind: max and mean '
                      '|tiled - whole| in 8-bit levels. Per network and input the settled pad is the smallest from '
                      'which every larger pad is within 1 level ("within 1/255"), or where none is, the smallest '
                      'from which the max difference drops by no more than 1 level at any larger pad ("stops '
                      'changing"); tile_pad is the largest settled pad.',
            'settled_pad': settled,
            'curves': {n: info['tile_pad_curve'] for n, info in net_info.items()},
        },
        'checkpoints': checkpoints,
        'networks': net_info,
        'notes': [
            'OmniSR is not tile-exact: the squeeze-excitation averages the whole tile, the grid attention and '
            'the grid channel attention span the whole (window-padded) tile, and that padding depends on the '
            'tile size. receptive_radius is the measured tile pad, not an exact radius; the tiled expected '
            'outputs are PyTorch tiled the same way (RealESRGANer.tile_process at that pad).',
            'pe False: the window size is not in the tensors; superres, like spandrel, assumes 8.',
        ],
    }
    with open(out / 'manifest.json', 'w') as f:
        json.dump(manifest, f, indent=1)
        f.write('\n')

    total = 0
    for path in sorted(out.iterdir()):
        size = path.stat().st_size
        total += size
        if size > MAX_FILE:
            raise SystemExit(f'{path.name}: {size} bytes, over the {MAX_FILE} byte limit')
        print(f'{size:>7}  {path.name}', file=sys.stderr)
    print(f'{total:>7}  total', file=sys.stderr)
    if total > MAX_TOTAL:
        raise SystemExit(f'fixtures total {total} bytes, over {MAX_TOTAL}')


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', type=Path, default=OUT, help=f'output folder (default: {OUT.relative_to(REPO_ROOT)})')
    generate(parser.parse_args().out.resolve())


if __name__ == '__main__':
    main()
