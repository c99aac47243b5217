#!/usr/bin/python3
"""Small random-weight PLKSR and RealPLKSR checkpoints, with the outputs PyTorch computes for them
through the RealESRGANer pipeline (whole image and tiled).

Run from the repository root with Debian's python3-torch:

    /usr/bin/python3 tools/reference/make_plksr_fixtures.py

Writes packages/models/test/fixtures/plksr/:
  input.png        a synthetic 48x40 RGB image (ramps, a 2-D sine, a checker, seeded noise)
  *.pth            torch zip files, the state dict under `params_ema` or `params` (as BasicSR and
                   neosr releases are)
  *.safetensors    written by hand (as traiNNer-redux releases RealPLKSR)
  <network>.png    expected 8-bit output (RealESRGANer.enhance, whole image; also the expected
                   tiled output of the tile-exact networks)
  <network>_tile16_pad<R>.png   expected tiled output of the GroupNorm networks (not tile-exact)
  manifest.json    what each file is, how to load it, what it must produce, output statistics

Networks (plksr_arch.py): PLKSR with each channel mixer (DCCM, CCM, ICCM), the PLK and
RectSparsePLK large kernels, with and without element-wise attention; RealPLKSR with GroupNorm
(4 groups, and 2 groups given as a load option) and with layer norm; x2 and x4. Each runs whole and
tiled (tile 16, tile_pad = its receptive radius, aligned). For the tile-exact networks (all but
RealPLKSR with GroupNorm) the script checks that the tiled output is the whole one, and that one
pixel less of pad changes the float output: the radius is exact. Weights are random (fixed seeds),
the last conv calibrated so the output is neither saturated nor dominated by the skip; the script
stops if an output has std <= 0.05, if 30% or more values are clamped, if a probed porting mistake
would stay within the test's 1/255 tolerance, or if a file exceeds 300 KB.
"""

import argparse
import copy
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
from plksr_arch import PLKSR, ChannelLayerNorm, RealPLKSR, receptive_radius  # noqa: E402
from realesrgan_reference import diff_summary, enhance_float, quantize, tile_process  # noqa: E402

THREADS = 2
REPO_ROOT = Path(__file__).resolve().parents[2]
OUT = REPO_ROOT / 'packages/models/test/fixtures/plksr'
COMMAND = '/usr/bin/python3 tools/reference/make_plksr_fixtures.py'
MAX_FILE = 300 * 1024
MAX_TOTAL = 3 * 1024 * 1024
INPUT_W, INPUT_H = 48, 40
TILE = 16
RESIDUAL_TARGET = dict(mean=0.0, std=0.16)  # what feats adds to the repeated input, before the shuffle

NETWORKS = [
    dict(id='plksr_x4', arch='PLKSR', scale=4, dim=16, n_blocks=2, kernel_size=17, split_ratio=0.25,
         ccm_type='DCCM', lk_type='PLK', use_ea=True, seed=4401),
    dict(id='plksr_x2', arch='PLKSR', scale=2, dim=12, n_blocks=3, kernel_size=13, split_ratio=0.5,
         ccm_type='CCM', lk_type='PLK', use_ea=False, seed=4402),
    dict(id='plksr_iccm_rect_x4', arch='PLKSR', scale=4, dim=12, n_blocks=2, kernel_size=9, split_ratio=0.25,
         ccm_type='ICCM', lk_type='RectSparsePLK', use_ea=True, seed=4403),
    dict(id='realplksr_x4', arch='RealPLKSR', scale=4, dim=16, n_blocks=2, kernel_size=17, split_ratio=0.25,
         use_ea=True, norm_groups=4, layer_norm=False, seed=4404),
    # norm_groups is not in the tensors: this one needs the normGroups load option.
    dict(id='realplksr_x2', arch='RealPLKSR', scale=2, dim=12, n_blocks=2, kernel_size=13, split_ratio=0.25,
         use_ea=False, norm_groups=2, layer_norm=False, seed=4405),
    dict(id='realplksr_ln_x4', arch='RealPLKSR', scale=4, dim=16, n_blocks=2, kernel_size=17, split_ratio=0.25,
         use_ea=True, norm_groups=4, layer_norm=True, seed=4406),
    dict(id='realplksr_ln_x2', arch='RealPLKSR', scale=2, dim=12, n_blocks=3, kernel_size=13, split_ratio=0.5,
         use_ea=True, norm_groups=4, layer_norm=True, seed=4407),
]

# file, network, format, nested key
CHECKPOINTS = [
    ('plksr_x4.pth', 'plksr_x4', 'pytorch-zip', 'params_ema'),
    ('plksr_x2.pth', 'plksr_x2', 'pytorch-zip', 'params_ema'),
    ('plksr_x2.safetensors', 'plksr_x2', 'safetensors', None),
    ('plksr_iccm_rect_x4.pth', 'plksr_iccm_rect_x4', 'pytorch-zip', 'params'),
    ('realplksr_x4.pth', 'realplksr_x4', 'pytorch-zip', 'params'),
    ('realplksr_x2.pth', 'realplksr_x2', 'pytorch-zip', 'params_ema'),
    ('realplksr_ln_x4.safetensors', 'realplksr_ln_x4', 'safetensors', None),
    ('realplksr_ln_x2.safetensors', 'realplksr_ln_x2', 'safetensors', None),
]


def make_input():
    """48x40 RGB: red ramps left to right, green top to bottom, blue a 2-D sine; a +-12 checker
    and seeded noise. Values stay inside [6, 249]."""
    y, x = np.mgrid[0:INPUT_H, 0:INPUT_W].astype(np.float64)
    r = 25 + 205 * x / (INPUT_W - 1)
    g = 225 - 190 * y / (INPUT_H - 1)
    b = 128 + 80 * np.sin(0.45 * x + 0.3 * y) * np.cos(0.25 * y - 0.15 * x)
    checker = np.where((x + y) % 2 == 0, 12.0, -12.0)
    rng = np.random.RandomState(20240611)
    img = np.stack([r, g, b], axis=2) + checker[:, :, None] + rng.normal(0, 7, size=(INPUT_H, INPUT_W, 3))
    return np.clip(np.round(img), 6, 249).astype(np.uint8)


# --------------------------------------------------------------------------------------------
# Networks
# --------------------------------------------------------------------------------------------

def init_conv(layer, gen, gain, bias_std=0.05):
    fan_in = layer.in_channels * layer.kernel_size[0] * layer.kernel_size[1]
    with torch.no_grad():
        layer.weight.copy_(torch.randn(layer.weight.shape, generator=gen) * (gain / math.sqrt(fan_in)))
        if layer.bias is not None:
            layer.bias.copy_(torch.randn(layer.bias.shape, generator=gen) * bias_std)


def build_network(spec):
    gen = torch.Generator().manual_seed(spec['seed'])
    if spec['arch'] == 'PLKSR':
        net = PLKSR(dim=spec['dim'], n_blocks=spec['n_blocks'], upscaling_factor=spec['scale'],
                    ccm_type=spec['ccm_type'], kernel_size=spec['kernel_size'], split_ratio=spec['split_ratio'],
                    lk_type=spec['lk_type'], use_ea=spec['use_ea'])
    else:
        net = RealPLKSR(dim=spec['dim'], n_blocks=spec['n_blocks'], upscaling_factor=spec['scale'],
                        kernel_size=spec['kernel_size'], split_ratio=spec['split_ratio'], use_ea=spec['use_ea'],
                        norm_groups=spec['norm_groups'], layer_norm=spec['layer_norm'])
    for name, module in net.named_modules():
        if isinstance(module, nn.Conv2d):
            # The attention conv drives a sigmoid: large enough that its gate varies.
            init_conv(module, gen, 2.0 if '.attn.' in name else 1.4, 0.3 if '.attn.' in name else 0.05)
        elif isinstance(module, (nn.GroupNorm, ChannelLayerNorm)):
            with torch.no_grad():
                module.weight.copy_(1 + 0.4 * torch.randn(module.weight.shape, generator=gen))
                module.bias.copy_(0.2 * torch.randn(module.bias.shape, generator=gen))
    return net.eval()


def features_before_last(net, x):
    out = x
    for layer in list(net.feats)[:-1]:
        out = layer(out)
    return out


@torch.no_grad()
def calibrate_last_conv(net, x):
    """Rescale the last conv per output channel so that, on this input, the residual it adds to
    the repeated input has the target std and mean."""
    last, feats = net.feats[-1], features_before_last(net, x)
    raw = F.conv2d(feats, last.weight, None, 1, 1)
    last.weight.mul_((RESIDUAL_TARGET['std'] / raw.std(dim=(0, 2, 3))).view(-1, 1, 1, 1))
    raw = F.conv2d(feats, last.weight, None, 1, 1)
    last.bias.copy_(RESIDUAL_TARGET['mean'] - raw.mean(dim=(0, 2, 3)))


def mod_padded(img_u8, scale):
    x = torch.from_numpy(np.ascontiguousarray(np.transpose(img_u8.astype(np.float32) / 255, (2, 0, 1)))).unsqueeze(0)
    mod = {2: 2, 1: 4}.get(scale, 1)
    ph, pw = (-x.shape[2]) % mod, (-x.shape[3]) % mod
    return F.pad(x, (0, pw, 0, ph), 'reflect') if ph or pw else x


def radius(spec):
    return receptive_radius(spec['n_blocks'], spec['kernel_size'], spec.get('ccm_type', 'DCCM'), spec['use_ea'])


@torch.no_grad()
def radius_check(net, img_u8, spec, r):
    """The network in float64 on the (aligned) input: max |tiled - whole| with tile_pad r and r - 1."""
    net64 = copy.deepcopy(net).double()
    x = mod_padded(img_u8, spec['scale']).double()
    whole = net64(x)
    return {f'pad_r{suffix}': float((tile_process(net64, x, spec['scale'], TILE, pad) - whole).abs().max())
            for suffix, pad in (('', r), ('_minus_1', r - 1))}


def tile_exact(spec):
    return spec['arch'] == 'PLKSR' or spec['layer_norm']


def hyperparameters(spec):
    pdim = int(spec['dim'] * spec['split_ratio'])
    common = {'dim': spec['dim'], 'n_blocks': spec['n_blocks'], 'upscaling_factor': spec['scale'],
              'kernel_size': spec['kernel_size'], 'split_ratio': spec['split_ratio'], 'pdim': pdim,
              'use_ea': spec['use_ea']}
    if spec['arch'] == 'PLKSR':
        return {**common, 'ccm_type': spec['ccm_type'], 'lk_type': spec['lk_type']}
    return {**common, 'norm_groups': spec['norm_groups'], 'layer_norm': spec['layer_norm'], 'dysample': False}


# --------------------------------------------------------------------------------------------
# Porting mistakes the fixture must catch
# --------------------------------------------------------------------------------------------

@torch.no_grad()
def sensitivity(net, spec, img_u8, ref_u8):
    """How much plausible porting mistakes change the 8-bit output. Required probes must move some
    value by more than 1 (the test's tolerance); informational ones are recorded only."""
    scale = spec['scale']
    blocks = list(net.feats)[1:1 + spec['n_blocks']]
    required, informational = {}, {}

    def run():
        return quantize(enhance_float(net, img_u8, scale, 0, 10, 0))

    def patched(modules, attribute, replacement):
        saved = [m.__dict__.get(attribute, patched) for m in modules]
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

    lks = [b.lk for b in blocks]
    required['large_kernel_skipped'] = patched(lks, 'forward', lambda m: (lambda x: x))

    def on_last_channels(m):
        def forward(x):
            keep, tail = x[:, :-m.pdim], x[:, -m.pdim:]
            if m.lk_type == 'PLK':
                tail = m.conv(tail)
            else:
                tail = m.mn_conv(tail) + m.nm_conv(tail) + m.nn_conv(tail)
            return torch.cat([keep, tail], 1)
        return forward
    required['large_kernel_on_last_channels'] = patched(lks, 'forward', on_last_channels)
    if spec['use_ea']:
        required['attention_skipped'] = patched([b.attn for b in blocks], 'forward', lambda m: (lambda x: x))
    required['blocks_skipped'] = patched(blocks, 'forward', lambda m: (lambda x: x))
    if spec['arch'] == 'PLKSR':
        gelus = [b.channe_mixer[1] for b in blocks]
        informational['gelu_tanh_approximation'] = patched(
            gelus, 'forward', lambda m: (lambda x: F.gelu(x, approximate='tanh')))
    else:
        mishes = [b.channel_mixer[1] for b in blocks]
        required['mish_as_gelu'] = patched(mishes, 'forward', lambda m: (lambda x: F.gelu(x)))
        if spec['layer_norm']:
            lns = [b.layer_norm for b in blocks]
            required['layer_norm_skipped'] = patched(lns, 'forward', lambda m: (lambda x: x))
            informational['layer_norm_eps_1e-5'] = patched(lns, 'eps', lambda m: 1e-5)
        else:
            norms = [b.norm for b in blocks]
            required['group_norm_skipped'] = patched(norms, 'forward', lambda m: (lambda x: x))
            other = 1 if spec['norm_groups'] != 1 else 2
            required[f'group_norm_{other}_groups'] = patched(norms, 'num_groups', lambda m: other)
            informational['group_norm_eps_1e-6'] = patched(norms, 'eps', lambda m: 1e-6)
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

    img = make_input()
    write_png(out / 'input.png', img)
    if not np.array_equal(read_png(out / 'input.png'), img):
        raise SystemExit('input.png does not read back')

    nets, net_info = {}, {}
    for spec in NETWORKS:
        net = build_network(spec)
        calibrate_last_conv(net, mod_padded(img, spec['scale']))
        nets[spec['id']] = net
        r = radius(spec)
        alignment = {2: 2, 1: 4}.get(spec['scale'], 1)
        # The pipeline rounds tile pads up to the alignment; RealESRGANer takes them as given. For a
        # tile-exact network any pad >= r gives the whole image; for GroupNorm the pads must agree.
        tile_pad = r if tile_exact(spec) else -(-r // alignment) * alignment
        whole_f = enhance_float(net, img, spec['scale'], 0, 10, 0)
        whole_u8 = quantize(whole_f)
        tiled_f = enhance_float(net, img, spec['scale'], TILE, tile_pad, 0)
        tiled_u8 = quantize(tiled_f)
        vs_whole = diff_summary(whole_u8, tiled_u8)
        vs_whole['float_max_abs_diff'] = float(np.abs(whole_f - tiled_f).max())
        vs_whole['identical'] = bool(np.array_equal(whole_u8, tiled_u8))
        exactness = radius_check(net, img, spec, r)
        if tile_exact(spec):
            # In float32 the tiles differ from the whole image only by summation order (a value
            # within that noise of a rounding tie may round the other way).
            if vs_whole['float_max_abs_diff'] > 1e-5 or vs_whole['max_abs_diff'] > 1:
                raise SystemExit(f"{spec['id']}: tiled with pad {tile_pad} differs from whole: {vs_whole}")
            # In float64: pad r gives the whole image, pad r - 1 does not: r is the exact radius.
            if exactness['pad_r'] > 1e-12 or exactness['pad_r_minus_1'] < 1e-9:
                raise SystemExit(f"{spec['id']}: receptive radius {r} is not exact: {exactness}")
        elif vs_whole['identical']:
            raise SystemExit(f"{spec['id']}: GroupNorm network tiled equals whole: the tiled run tests nothing")
        runs = []
        for tile, pad, out_f, out_u8 in ((0, 10, whole_f, whole_u8), (TILE, tile_pad, tiled_f, tiled_u8)):
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
                if tile_exact(spec):
                    # Tiles at this pad compute the whole image (float64 check above); float32
                    # summation order may flip a value at a rounding tie, which the test's 1/255
                    # tolerance covers. The expected output is the whole image, not stored twice.
                    entry['expected'] = f"{spec['id']}.png"
                    entry['pixels_sha256'] = runs[0]['pixels_sha256']
            if not (out / entry['expected']).exists():
                write_png(out / entry['expected'], out_u8)
            runs.append(entry)
        net_info[spec['id']] = {
            'architecture': spec['arch'],
            'hyperparameters': hyperparameters(spec),
            'receptive_radius': r,
            'tile_exact': tile_exact(spec),
            # float64 max |tiled - whole| at tile 16 with pad r and r - 1 (exactness of the radius).
            'float64_tiled_vs_whole': exactness,
            'seed': spec['seed'],
            'parameters': int(sum(p.numel() for p in net.parameters())),
            'runs': runs,
            'sensitivity': sensitivity(net, spec, img, whole_u8),
        }
        print(f"{spec['id']}: R {r}, std {runs[0]['stats']['float_std']}, clamped {runs[0]['stats']['clamped_fraction']}, "
              f"tiled vs whole {vs_whole['max_abs_diff']} (float {vs_whole['float_max_abs_diff']:.2e}), "
              f"float64 pad R {exactness['pad_r']:.1e}, R-1 {exactness['pad_r_minus_1']:.1e}", file=sys.stderr)

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
            'file': file,
            'network': net_id,
            'architecture': spec['arch'],
            'format': fmt,
            'nested_key': nested,
            'hyperparameters': hyperparameters(spec),
            'receptive_radius': radius(spec),
            # norm_groups is not in the tensors: pass it to loadModelFile when it is not the default 4.
            'load_options': {'normGroups': spec['norm_groups']} if spec.get('norm_groups', 4) != 4 else {},
            'tensors': len(sd),
            'bytes': len(data),
            'sha256': sha256(data),
            'runs': [{k: r[k] for k in ('tile', 'tile_pad', 'pre_pad', 'expected', 'width', 'height', 'pixels_sha256')}
                     for r in net_info[net_id]['runs']],
        })

    manifest = {
        'description': 'Random-weight PLKSR and RealPLKSR checkpoints with the outputs PyTorch computes for '
                       'input.png through RealESRGANer.enhance (RGB 8-bit), whole and tiled.',
        'generated_by': {
            'command': COMMAND,
            'cwd': 'repository root',
            'scripts': ['tools/reference/make_plksr_fixtures.py', 'tools/reference/plksr_arch.py',
                        'tools/reference/make_variant_fixtures.py', 'tools/reference/realesrgan_reference.py'],
            'torch_version': torch.__version__,
            'numpy_version': np.__version__,
            'torch_threads': THREADS,
            'device': 'cpu',
        },
        'input': {'file': 'input.png', 'width': INPUT_W, 'height': INPUT_H,
                  'pixels_sha256': sha256(np.ascontiguousarray(img).tobytes()),
                  'description': 'synthetic: red/green ramps, blue 2-D sine, +-12 checker, seeded noise'},
        'pipeline': [
            'PNG RGB uint8 -> float32 / 255 -> NCHW',
            'pre_pad 0; alignment pad (reflect, right/bottom) to a multiple of 2 for scale 2',
            f'whole image (tile 0) or RealESRGANer.tile_process(tile {TILE}, tile_pad = the receptive radius, '
            'rounded up to the alignment for the GroupNorm networks)',
            'crop the pads; clamp [0,1]; (x * 255.0).round() in float32, half to even; uint8',
        ],
        'schema': {
            'checkpoints[]': 'one per file: file, network (key into networks), architecture (PLKSR | RealPLKSR), '
                             'format (pytorch-zip | safetensors), nested_key (params_ema | params | null), '
                             'hyperparameters (upstream names), receptive_radius, load_options (pass to '
                             'loadModelFile), runs[] (tile, tile_pad, pre_pad, expected PNG, width, height, '
                             'pixels_sha256 of raw RGB bytes)',
            'networks{}': 'per network: hyperparameters, receptive radius, tile_exact, how far a pad one pixel '
                          'short moves the float output, runs with output statistics and (tiled) vs_whole; '
                          'sensitivity: how far porting mistakes move the 8-bit output (required ones exceed '
                          'the 1-level tolerance somewhere)',
        },
        'checkpoints': checkpoints,
        'networks': net_info,
        'notes': [
            'RealPLKSR without layer norm ends each block with GroupNorm, whose statistics are taken over the '
            'whole tensor: tiled inference differs from whole-image inference at any tile pad, in PyTorch as in '
            'superres. Its tiled expected output is PyTorch tiled the same way (RealESRGANer.tile_process).',
            'norm_groups is not stored in a checkpoint (GroupNorm weights are [dim] whatever the groups); '
            'realplksr_x2 uses 2 groups and needs the normGroups load option.',
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
