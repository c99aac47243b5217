#!/usr/bin/python3
"""Small random-weight SPAN checkpoints in each published layout, with the outputs PyTorch
computes for them through the RealESRGANer pipeline (realesrgan_reference.py), for
packages/models/test/span.test.ts.

Run from the repository root with Debian's python3-torch (30 s to 2 min, mostly the probes):

    /usr/bin/python3 tools/reference/make_span_fixtures.py

Writes packages/models/test/fixtures/span/:
  input.png        a synthetic 41x31 RGB image (wide enough that a tile padded by the receptive
                   radius does not see the whole image; odd sizes so x2 needs its alignment pad)
  *.pth            torch zip checkpoints, the state dict under `params_ema` or `params`
  *.safetensors    the same tensors written by hand (no nesting)
  <network>.png    expected 8-bit output, whole image (tile 0, pre_pad 0)
  manifest.json    what each file is, its hyperparameters, runs (whole, and tile 8 with tile_pad
                   = the receptive radius, which must equal the whole-image output exactly), output
                   statistics and how far plausible porting mistakes move the output

Layouts: the authors' (hongyuanyu/SPAN: input normalised by (x - rgb_mean) * img_range, no
`no_norm` tensor) and neosr / traiNNer's `norm: false` (a `no_norm` buffer, no normalisation).
Every Conv3XC is stored with its train-time branches (`sk`, `conv.0/1/2`) and `eval_conv`; in
`folded` networks eval_conv holds the folded branches (as after an eval pass upstream), in `stale`
ones it holds something else (a checkpoint saved in training mode): upstream folds the branches
again before every eval forward, so eval_conv's stored values must not matter.

The weights are random with fixed seeds, rescaled layer by layer on the input so every
Conv3XC output has a set spread (the attention's sigmoid neither flat nor saturated) and the image
is neither saturated nor flat. The script stops if an output has std <= 0.05, if 30% or more of
its values are clamped, if a tiled run differs from the whole image, if an output pixel's float64
gradient does not reach exactly the receptive radius into the input, if a probed mistake stays within the test's
1/255 tolerance, or if a file exceeds 200 KB. Everything it writes is byte-identical on every run.
"""

import argparse
import copy
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_variant_fixtures import (  # noqa: E402
    check_healthy, output_stats, probe_summary, read_png, read_safetensors, read_torch, safetensors_bytes,
    sha256, torch_bytes, write_png)
from realesrgan_reference import diff_summary, enhance_float, quantize  # noqa: E402
from span_arch import BLOCKS, DEFAULT_IMG_RANGE, DEFAULT_RGB_MEAN, SPAN, Conv3XC, span_from_state_dict  # noqa: E402

THREADS = 2
REPO_ROOT = Path(__file__).resolve().parents[2]
OUT = REPO_ROOT / 'packages/models/test/fixtures/span'
COMMAND = '/usr/bin/python3 tools/reference/make_span_fixtures.py'
MAX_FILE = 200 * 1024
MAX_TOTAL = 1024 * 1024
INPUT_W, INPUT_H = 41, 31

# Every 3x3 convolution on the longest path widens the receptive field by one input pixel:
# conv_1, 6 blocks x 3 Conv3XC, conv_2, upsampler.0 (conv_cat is 1x1).
RECEPTIVE_RADIUS = 1 + 3 * BLOCKS + 1 + 1
TILE = 8
DEFAULT_TILE_PAD = 10  # RealESRGANer's default; unused when tile is 0

# A checkpoint holds ~50 F^2 floats per Conv3XC, 19 of them F to F (and conv_1), plus the zip's
# per-tensor overhead (206 tensors): F = 5 is ~170 KB as a torch zip file.
NETWORKS = [
    dict(id='span_x4', scale=4, feature_channels=5, norm=True, eval_conv='folded', seed=1401),
    dict(id='span_x2', scale=2, feature_channels=4, norm=True, eval_conv='stale', seed=1201),
    dict(id='span_nonorm_x4', scale=4, feature_channels=4, norm=False, eval_conv='stale', seed=2401),
    dict(id='span_nonorm_x2', scale=2, feature_channels=3, norm=False, eval_conv='folded', seed=2201),
]

# file, network, format, nested key
CHECKPOINTS = [
    ('span_x4.pth', 'span_x4', 'pytorch-zip', 'params_ema'),
    ('span_x2.pth', 'span_x2', 'pytorch-zip', 'params'),
    ('span_nonorm_x4.pth', 'span_nonorm_x4', 'pytorch-zip', 'params'),
    ('span_nonorm_x2.pth', 'span_nonorm_x2', 'pytorch-zip', 'params_ema'),
    ('span_nonorm_x4.safetensors', 'span_nonorm_x4', 'safetensors', None),
]

CONV_STD = 1.5          # each Conv3XC output's spread after calibration
IMAGE_TARGET = dict(mean=0.5, std=0.22)


# --------------------------------------------------------------------------------------------
# Input and weights
# --------------------------------------------------------------------------------------------

def make_input():
    """41x31 RGB: red ramps left to right, green top to bottom, blue a 2-D sine, a fine checker
    and seeded noise. Values stay inside [6, 249]."""
    y, x = np.mgrid[0:INPUT_H, 0:INPUT_W].astype(np.float64)
    r = 25 + 205 * x / (INPUT_W - 1)
    g = 225 - 190 * y / (INPUT_H - 1)
    b = 128 + 80 * np.sin(0.5 * x + 0.35 * y) * np.cos(0.3 * y - 0.2 * x)
    checker = np.where((x + y) % 2 == 0, 10.0, -10.0)
    rng = np.random.RandomState(20240914)
    img = np.stack([r, g, b], axis=2) + checker[:, :, None] + rng.normal(0, 6, size=(INPUT_H, INPUT_W, 3))
    return np.clip(np.round(img), 6, 249).astype(np.uint8)


def randn(shape, gen, std):
    return torch.randn(shape, generator=gen) * std


@torch.no_grad()
def init_conv(conv, gen, gain=1.0, bias_std=0.05):
    fan_in = conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
    conv.weight.copy_(randn(conv.weight.shape, gen, gain / math.sqrt(fan_in)))
    conv.bias.copy_(randn(conv.bias.shape, gen, bias_std))


def build_network(spec):
    gen = torch.Generator().manual_seed(spec['seed'])
    net = SPAN(3, 3, spec['feature_channels'], spec['scale'], norm=spec['norm'])
    for m in net.conv3xcs():
        init_conv(m.sk, gen, 0.7)
        for conv in m.conv:
            init_conv(conv, gen, 1.2)
        init_conv(m.eval_conv, gen, 1.0)  # what nn.Conv2d's init would leave: stale unless folded
    init_conv(net.conv_cat, gen, 1.2)
    init_conv(net.upsampler[0], gen, 1.0)
    return net.eval()


def conv3xc_order(net):
    """Conv3XC modules in forward order."""
    order = [net.conv_1]
    for i in range(1, BLOCKS + 1):
        block = getattr(net, f'block_{i}')
        order += [block.c1_r, block.c2_r, block.c3_r]
    return order + [net.conv_2]


@torch.no_grad()
def calibrate(net, x):
    """Scale each Conv3XC (its last 1x1 and its shortcut: the output scales exactly) so that, on
    this input, its output has std CONV_STD; then upsampler.0 per output channel so the image
    has IMAGE_TARGET's mean and std."""
    for m in conv3xc_order(net) + [net.conv_cat]:
        seen = []
        handle = m.register_forward_hook(lambda _m, _i, out: seen.append(out))
        net.features(x)
        handle.remove()
        k = CONV_STD / float(seen[0].std())
        if isinstance(m, Conv3XC):
            for conv in (m.conv[2], m.sk):
                conv.weight.mul_(k)
                conv.bias.mul_(k)
        else:
            m.weight.mul_(k)
            m.bias.mul_(k)
    conv = net.upsampler[0]
    feats = net.features(x)
    raw = F.conv2d(feats, conv.weight, None, 1, 1)
    conv.weight.mul_((IMAGE_TARGET['std'] / raw.std(dim=(0, 2, 3))).view(-1, 1, 1, 1))
    raw = F.conv2d(feats, conv.weight, None, 1, 1)
    conv.bias.copy_(IMAGE_TARGET['mean'] - raw.mean(dim=(0, 2, 3)))


def measured_radius(net, size=51):
    """How far from an output pixel's own input pixel the input pixels it depends on reach:
    the gradient of one output pixel in float64 (exactly zero beyond the receptive field,
    nonzero inside it) on a random input larger than the field."""
    net64 = copy.deepcopy(net).double()
    gen = torch.Generator().manual_seed(7)
    x = torch.rand((1, 3, size, size), generator=gen, dtype=torch.float64).requires_grad_(True)
    with torch.enable_grad():
        out = net64(x)
        c = size // 2
        out[0, :, c * net.upscale, c * net.upscale].sum().backward()
    ys, xs = torch.nonzero(x.grad[0].abs().sum(dim=0), as_tuple=True)
    return int(max((ys - c).abs().max(), (xs - c).abs().max()))


def mod_padded(img_u8, scale):
    x = torch.from_numpy(np.ascontiguousarray(np.transpose(img_u8.astype(np.float32) / 255, (2, 0, 1)))).unsqueeze(0)
    mod = {2: 2, 1: 4}.get(scale, 1)
    ph, pw = (-x.shape[2]) % mod, (-x.shape[3]) % mod
    return F.pad(x, (0, pw, 0, ph), 'reflect') if ph or pw else x


# --------------------------------------------------------------------------------------------
# Porting mistakes, to show the fixtures catch them
# --------------------------------------------------------------------------------------------

def conv3xc_mistaken(m, x, mistakes):
    if 'eval_conv_as_stored' in mistakes:
        return m.eval_conv(x)
    if 'padding_after_first_1x1' in mistakes:
        c0, c1, c2 = m.conv
        return c2(c1(F.pad(c0(x), (1, 1, 1, 1)))) + m.sk(x)
    return m(x)


@torch.no_grad()
def forward_mistaken(net, x, mistakes=()):
    """The network with some plausible porting mistakes; with none it must equal net(x)."""
    norm = net.norm != ('normalisation_flag_inverted' in mistakes)
    if norm:
        mean, img_range = net.rgb_mean, net.img_range
        if 'neosr_norm_values' in mistakes:
            mean, img_range = (0.5, 0.5, 0.5), 1.0
        x = (x - torch.tensor(mean).view(1, -1, 1, 1)) * img_range
    act = (lambda t: F.leaky_relu(t, 0.1)) if 'silu_as_leakyrelu' in mistakes else F.silu
    conv = lambda m, t: conv3xc_mistaken(m, t, mistakes)  # noqa: E731
    f0 = conv(net.conv_1, x)
    b, o1, outs = f0, None, []
    for i in range(1, BLOCKS + 1):
        block = getattr(net, f'block_{i}')
        o1 = conv(block.c1_r, b)
        o3 = conv(block.c3_r, act(conv(block.c2_r, act(o1))))
        att = torch.sigmoid(o3) - (0.0 if 'attention_without_half' in mistakes else 0.5)
        b = (o3 + b) * att
        outs.append(b)
    t = conv(net.conv_2, b)
    last = act(o1) if 'concat_activated_c1' in mistakes else o1
    parts = [f0, outs[0], t, last] if 'concat_order_swapped' in mistakes else [f0, t, outs[0], last]
    return net.upsampler(net.conv_cat(torch.cat(parts, dim=1)))


class Mistaken(torch.nn.Module):
    def __init__(self, net, mistakes):
        super().__init__()
        self.net, self.mistakes = net, mistakes

    def forward(self, x):
        return forward_mistaken(self.net, x, self.mistakes)


def probe_names(spec):
    names = ['silu_as_leakyrelu', 'attention_without_half', 'concat_activated_c1', 'concat_order_swapped',
             'padding_after_first_1x1', 'normalisation_flag_inverted']
    if spec['norm']:
        names.append('neosr_norm_values')
    if spec['eval_conv'] == 'stale':
        names.append('eval_conv_as_stored')
    return names


@torch.no_grad()
def sensitivity(net, spec, img_u8, ref_u8):
    out = {}
    for name in probe_names(spec):
        u8 = quantize(enhance_float(Mistaken(net, (name,)), img_u8, spec['scale'], 0, DEFAULT_TILE_PAD, 0))
        out[name] = probe_summary(ref_u8, u8)
        if out[name]['max_abs_u8'] <= 1:
            raise SystemExit(f"{spec['id']}: probe {name} changes no value by more than 1: fixture too weak")
    return out


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

def hyperparameters(spec):
    return {'num_in_ch': 3, 'num_out_ch': 3, 'feature_channels': spec['feature_channels'],
            'upscale': spec['scale'], 'scale': spec['scale'], 'bias': True, 'norm': spec['norm'],
            'img_range': DEFAULT_IMG_RANGE, 'rgb_mean': list(DEFAULT_RGB_MEAN)}


@torch.no_grad()
def generate(out):
    torch.set_num_threads(THREADS)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.iterdir():
        if stale.suffix in ('.png', '.pth', '.safetensors', '.json'):
            stale.unlink()

    img = make_input()
    write_png(out / 'input.png', img)
    if not np.array_equal(read_png(out / 'input.png'), img):
        raise SystemExit('input.png does not read back')

    nets, net_info = {}, {}
    for spec in NETWORKS:
        net = build_network(spec)
        x = mod_padded(img, spec['scale'])
        calibrate(net, x)
        if spec['eval_conv'] == 'folded':
            for m in net.conv3xcs():
                m.update_eval_conv()
        nets[spec['id']] = net

        # Our eval form (fold, then one 3x3 conv) against the train-time branches, and the
        # mistake-probing forward without mistakes against the network.
        eval_out = net(x)
        for m in net.conv3xcs():
            m.use_branches = True
        branches_out = net(x)
        for m in net.conv3xcs():
            m.use_branches = False
        fold_vs_branches = float((eval_out - branches_out).abs().max())
        if fold_vs_branches > 1e-4:
            raise SystemExit(f"{spec['id']}: folded Conv3XC differs from its branches by {fold_vs_branches}")
        if not torch.equal(forward_mistaken(net, x), eval_out):
            raise SystemExit(f"{spec['id']}: forward_mistaken without mistakes differs from the network")

        whole_f = enhance_float(net, img, spec['scale'], 0, DEFAULT_TILE_PAD, 0)
        whole_u8 = quantize(whole_f)
        h, w = whole_u8.shape[:2]
        if (w, h) != (INPUT_W * spec['scale'], INPUT_H * spec['scale']):
            raise SystemExit(f"{spec['id']}: output {w}x{h}")
        stats = output_stats(whole_f, whole_u8)
        check_healthy(spec['id'], stats)
        name = f"{spec['id']}.png"
        write_png(out / name, whole_u8)
        runs = [{'tile': 0, 'tile_pad': DEFAULT_TILE_PAD, 'pre_pad': 0, 'expected': name, 'width': int(w),
                 'height': int(h), 'pixels_sha256': sha256(np.ascontiguousarray(whole_u8).tobytes()), 'stats': stats}]

        # Tiled with tile_pad = the receptive radius: the same bytes as the whole image. One less:
        # not exact (the radius is the smallest pad that works).
        tiled_f = enhance_float(net, img, spec['scale'], TILE, RECEPTIVE_RADIUS, 0)
        tiled_u8 = quantize(tiled_f)
        cmp = diff_summary(whole_u8, tiled_u8)
        cmp['float_max_abs_diff'] = float(np.abs(whole_f - tiled_f).max())
        cmp['identical'] = bool(np.array_equal(whole_u8, tiled_u8))
        if not cmp['identical'] or cmp['float_max_abs_diff'] > 1e-5:
            raise SystemExit(f"{spec['id']}: tile {TILE} / pad {RECEPTIVE_RADIUS} differs from the whole image: {cmp}")
        short_f = enhance_float(net, img, spec['scale'], TILE, RECEPTIVE_RADIUS - 1, 0)
        short = float(np.abs(whole_f - short_f).max())
        radius = measured_radius(net)
        if radius != RECEPTIVE_RADIUS:
            raise SystemExit(f"{spec['id']}: an output pixel depends on input pixels up to {radius} away, "
                             f"not {RECEPTIVE_RADIUS}")
        runs.append({'tile': TILE, 'tile_pad': RECEPTIVE_RADIUS, 'pre_pad': 0, 'expected': name, 'width': int(w),
                     'height': int(h), 'pixels_sha256': runs[0]['pixels_sha256'], 'vs_untiled': cmp,
                     # Far taps weigh little after 21 convolutions: one pixel less of pad moves the
                     # float output by about rounding error only. measured_radius() shows the reach.
                     'tile_pad_minus_1_float_max_abs_diff': short})

        net_info[spec['id']] = {
            'architecture': 'SPAN',
            'hyperparameters': hyperparameters(spec),
            'eval_conv': spec['eval_conv'],
            'seed': spec['seed'],
            'parameters': int(sum(p.numel() for p in net.state_dict().values())),
            'receptive_radius': RECEPTIVE_RADIUS,
            'measured_radius_float64': radius,
            'fold_vs_branches_float_max_abs_diff': fold_vs_branches,
            'runs': runs,
            'sensitivity': sensitivity(net, spec, img, whole_u8),
        }
        print(f"{spec['id']}: {stats}", file=sys.stderr)

    checkpoints, total = [], 0
    for file, net_id, fmt, nested in CHECKPOINTS:
        spec = next(s for s in NETWORKS if s['id'] == net_id)
        net = nets[net_id]
        sd = net.state_dict()
        if fmt == 'safetensors':
            data = safetensors_bytes(sd)
            back = read_safetensors(data)
        else:
            data = torch_bytes({nested: sd})
            back = read_torch(data)[nested]
        if sorted(back) != sorted(sd) or any(not torch.equal(back[k], sd[k]) for k in sd):
            raise SystemExit(f'{file}: does not read back')
        # Loading it the way a user would (hyperparameters from the tensors) computes the same.
        again = span_from_state_dict(back)
        if not np.array_equal(enhance_float(again, img, spec['scale'], 0, DEFAULT_TILE_PAD, 0),
                              enhance_float(net, img, spec['scale'], 0, DEFAULT_TILE_PAD, 0)):
            raise SystemExit(f'{file}: the reloaded network computes something else')
        if len(data) > MAX_FILE:
            raise SystemExit(f'{file}: {len(data)} bytes, over the {MAX_FILE} byte limit')
        (out / file).write_bytes(data)
        checkpoints.append({
            'file': file,
            'network': net_id,
            'architecture': 'SPAN',
            'layout': 'authors (normalised input)' if spec['norm'] else 'no_norm buffer',
            'eval_conv': spec['eval_conv'],
            'format': fmt,
            'nested_key': nested,
            'hyperparameters': hyperparameters(spec),
            'receptive_radius': RECEPTIVE_RADIUS,
            'load_options': {},
            'tensors': len(sd),
            'first_keys': list(sd)[:3],
            'bytes': len(data),
            'sha256': sha256(data),
            'runs': [{k: r[k] for k in ('tile', 'tile_pad', 'pre_pad', 'expected', 'width', 'height', 'pixels_sha256')}
                     for r in net_info[net_id]['runs']],
        })

    manifest = {
        'description': 'Random-weight SPAN checkpoints (authors\' layout and the no_norm layout; torch zip and '
                       'safetensors), with the outputs PyTorch computes for input.png through RealESRGANer.enhance '
                       '(RGB 8-bit), whole and tiled.',
        'generated_by': {
            'command': COMMAND,
            'cwd': 'repository root',
            'scripts': ['tools/reference/make_span_fixtures.py', 'tools/reference/span_arch.py',
                        'tools/reference/realesrgan_reference.py', 'tools/reference/make_variant_fixtures.py'],
            'torch_version': torch.__version__,
            'numpy_version': np.__version__,
            'torch_threads': THREADS,
            'device': 'cpu',
        },
        'input': {'file': 'input.png', 'width': INPUT_W, 'height': INPUT_H,
                  'pixels_sha256': sha256(np.ascontiguousarray(img).tobytes()),
                  'description': 'synthetic: red/green ramps, blue 2-D sine, +-10 checker, seeded noise'},
        'pipeline': [
            'PNG RGB uint8 -> float32 / 255 -> NCHW',
            'pre_pad 0; alignment pad (reflect, right/bottom) to a multiple of 2 for scale 2',
            'whole image (tile 0) or RealESRGANer.tile_process(tile 8, tile_pad = receptive radius)',
            'SPAN in eval mode: each Conv3XC folded from sk + conv.0/1/2 into one 3x3 conv (eval_conv\'s '
            'stored values unused, as upstream)',
            'crop the pads; clamp [0,1]; (x * 255.0).round() in float32, half to even; uint8',
        ],
        'receptive_radius': {
            'value': RECEPTIVE_RADIUS,
            'why': '3x3 convolutions on the longest path: conv_1, 6 SPAB x 3 Conv3XC, conv_2, upsampler.0',
        },
        'schema': {
            'checkpoints[]': 'one per file: file, network (key into networks), architecture, layout, eval_conv '
                             '(folded: eval_conv holds the folded branches; stale: it does not, as in a checkpoint '
                             'saved in training mode), format, nested_key, hyperparameters (spandrel\'s names), '
                             'receptive_radius, load_options, runs[] (tile, tile_pad, pre_pad, expected PNG, width, '
                             'height, pixels_sha256 of the raw RGB bytes)',
            'networks{}': 'per network: output statistics, tiled-vs-whole comparison (and with tile_pad one less), '
                          'the folded-vs-branches float difference, and sensitivity: how far plausible porting '
                          'mistakes move the 8-bit output (each must exceed the 1-level tolerance somewhere)',
        },
        'checkpoints': checkpoints,
        'networks': net_info,
        'notes': [
            'feature_channels is tiny (3..5) to keep the files small: a checkpoint stores ~50 F^2 floats per '
            'F-to-F Conv3XC (sk, conv.0/1/2 and eval_conv), 19 of them besides conv_1, so F = 16 would be ~1 MB.',
            'img_range and rgb_mean are not in the file; both layouts record the authors\' values, which only the '
            'normalised layout uses.',
        ],
    }
    with open(out / 'manifest.json', 'w') as f:
        json.dump(manifest, f, indent=1)
        f.write('\n')

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
