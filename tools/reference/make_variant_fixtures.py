#!/usr/bin/python3
"""Small random-weight checkpoints of every supported architecture variant, in every checkpoint
format, with the outputs PyTorch computes for them through the RealESRGANer pipeline.

Run from the repository root with Debian's python3-torch:

    /usr/bin/python3 tools/reference/make_variant_fixtures.py

Writes packages/models/test/fixtures/variants/:
  input.png          a synthetic 19x13 RGB image (smooth gradients + texture + noise, fixed seed)
  *.pth              torch zip (torch.save default) and legacy (_use_new_zipfile_serialization=False)
  *.safetensors      written by hand (8-byte LE header length, JSON header, raw LE float32)
  <network>[_tile..].png   expected 8-bit outputs (RealESRGANer.enhance, realesrgan_reference.py)
  manifest.json      what each file is, how to load it, what it must produce, output statistics

Networks: RRDBNet (BasicSR layout) x4 (1 and 2 blocks), x2, x1; the x4 ones again in the original
ESRGAN `model.N` layout; SRVGGNetCompact prelu/relu/leakyrelu x4 and prelu x2. Weights are random
(fixed seeds) and scaled so the output is neither saturated nor dominated by the skip paths; the
script refuses to write fixtures that fail those checks. Everything is deterministic except the
legacy-format files, whose storage keys are memory addresses.
"""

import argparse
import hashlib
import io
import json
import math
import struct
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from archs import ESRGANOldArch, RRDBNet, SRVGGNetCompact, esrgan_old_state_dict  # noqa: E402
from realesrgan_reference import diff_summary, enhance_float, quantize  # noqa: E402

THREADS = 2
REPO_ROOT = Path(__file__).resolve().parents[2]
OUT = REPO_ROOT / 'packages/models/test/fixtures/variants'
COMMAND = '/usr/bin/python3 tools/reference/make_variant_fixtures.py'
MAX_FILE = 60 * 1024
MAX_TOTAL = 1024 * 1024
INPUT_W, INPUT_H = 19, 13

# Hyperparameters. num_feat 8 / num_grow_ch 4 with one block is 69 KB as a zip checkpoint (56 KB of
# float32 alone), over the 60 KB fixture limit, so the RRDB nets use smaller growth or width; the
# values differ from each other (and num_grow_ch from num_feat) so a port that reads them from the
# tensor shapes is actually tested.
NETWORKS = [
    dict(id='rrdb_x4', arch='RRDBNet', scale=4, num_feat=8, num_grow_ch=2, num_block=1, seed=401),
    dict(id='rrdb_x4_nb2', arch='RRDBNet', scale=4, num_feat=4, num_grow_ch=2, num_block=2, seed=402),
    dict(id='rrdb_x2', arch='RRDBNet', scale=2, num_feat=8, num_grow_ch=2, num_block=1, seed=201),
    dict(id='rrdb_x1', arch='RRDBNet', scale=1, num_feat=6, num_grow_ch=3, num_block=1, seed=101),
    dict(id='srvgg_prelu_x4', arch='SRVGGNetCompact', scale=4, num_feat=8, num_conv=2, act='prelu', seed=11),
    dict(id='srvgg_relu_x4', arch='SRVGGNetCompact', scale=4, num_feat=8, num_conv=2, act='relu', seed=12),
    dict(id='srvgg_leakyrelu_x4', arch='SRVGGNetCompact', scale=4, num_feat=8, num_conv=2, act='leakyrelu', seed=13),
    dict(id='srvgg_prelu_x2', arch='SRVGGNetCompact', scale=2, num_feat=8, num_conv=2, act='prelu', seed=14),
]

# file, network, key layout, format
CHECKPOINTS = [
    ('rrdb_x4.pth', 'rrdb_x4', 'basicsr', 'pytorch-zip'),
    ('rrdb_x4_nb2.pth', 'rrdb_x4_nb2', 'basicsr', 'pytorch-zip'),
    ('rrdb_x2.pth', 'rrdb_x2', 'basicsr', 'pytorch-zip'),
    ('rrdb_x1.pth', 'rrdb_x1', 'basicsr', 'pytorch-zip'),
    ('esrgan_old_x4.pth', 'rrdb_x4', 'esrgan-old', 'pytorch-zip'),
    ('esrgan_old_x4_nb2.pth', 'rrdb_x4_nb2', 'esrgan-old', 'pytorch-zip'),
    ('srvgg_prelu_x4.pth', 'srvgg_prelu_x4', 'srvgg', 'pytorch-zip'),
    ('srvgg_relu_x4.pth', 'srvgg_relu_x4', 'srvgg', 'pytorch-zip'),
    ('srvgg_leakyrelu_x4.pth', 'srvgg_leakyrelu_x4', 'srvgg', 'pytorch-zip'),
    ('srvgg_prelu_x2.pth', 'srvgg_prelu_x2', 'srvgg', 'pytorch-zip'),
    ('rrdb_x2_legacy.pth', 'rrdb_x2', 'basicsr', 'pytorch-legacy'),
    ('esrgan_old_x4_legacy.pth', 'rrdb_x4', 'esrgan-old', 'pytorch-legacy'),
    ('srvgg_prelu_x4_legacy.pth', 'srvgg_prelu_x4', 'srvgg', 'pytorch-legacy'),
    ('rrdb_x4.safetensors', 'rrdb_x4', 'basicsr', 'safetensors'),
    ('srvgg_leakyrelu_x4.safetensors', 'srvgg_leakyrelu_x4', 'srvgg', 'safetensors'),
]

# Every network runs untiled (tile 0; tile_pad is then unused, 10 is RealESRGANer's default).
# Extra tiled runs: (network, tile, tile_pad).
TILED_RUNS = [('rrdb_x2', 8, 4), ('srvgg_prelu_x4', 8, 4)]
DEFAULT_TILE_PAD = 10

# Output calibration targets (float, before clamp), see calibrate_last_conv().
RRDB_TARGET = dict(mean=0.5, std=0.22)
SRVGG_TARGET = dict(mean=0.0, std=0.16)  # the residual the body adds to the nearest-upsampled input


# --------------------------------------------------------------------------------------------
# Input image
# --------------------------------------------------------------------------------------------

def make_input():
    """19x13 RGB: red ramps left to right, green top to bottom, blue is a 2-D sine; a fine checker
    and seeded noise on all channels. Values stay inside [6, 249]."""
    y, x = np.mgrid[0:INPUT_H, 0:INPUT_W].astype(np.float64)
    r = 25 + 205 * x / (INPUT_W - 1)
    g = 225 - 190 * y / (INPUT_H - 1)
    b = 128 + 80 * np.sin(0.9 * x + 0.55 * y) * np.cos(0.45 * y - 0.3 * x)
    checker = np.where((x + y) % 2 == 0, 12.0, -12.0)
    rng = np.random.RandomState(20240519)
    img = np.stack([r, g, b], axis=2) + checker[:, :, None] + rng.normal(0, 7, size=(INPUT_H, INPUT_W, 3))
    return np.clip(np.round(img), 6, 249).astype(np.uint8)


# --------------------------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------------------------

def init_conv(conv, gen, gain, bias_std=0.05):
    fan_in = conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen) * (gain / math.sqrt(fan_in)))
        conv.bias.copy_(torch.randn(conv.bias.shape, generator=gen) * bias_std)


def build_network(spec):
    gen = torch.Generator().manual_seed(spec['seed'])
    if spec['arch'] == 'RRDBNet':
        net = RRDBNet(3, 3, spec['scale'], spec['num_feat'], spec['num_block'], spec['num_grow_ch'])
        init_conv(net.conv_first, gen, 1.0)
        for rrdb in net.body:
            for rdb in (rrdb.rdb1, rrdb.rdb2, rrdb.rdb3):
                for j in range(1, 5):
                    init_conv(getattr(rdb, f'conv{j}'), gen, 1.4)
                # Large enough that each dense block visibly changes the result despite x5 * 0.2.
                init_conv(rdb.conv5, gen, 3.0)
        init_conv(net.conv_body, gen, 1.5)
        for conv in (net.conv_up1, net.conv_up2, net.conv_hr):
            init_conv(conv, gen, 1.4)
        init_conv(net.conv_last, gen, 1.0)
    else:
        net = SRVGGNetCompact(3, 3, spec['num_feat'], spec['num_conv'], spec['scale'], spec['act'])
        for layer in net.body:
            if isinstance(layer, nn.Conv2d):
                init_conv(layer, gen, 1.4)
            elif isinstance(layer, nn.PReLU):
                # Distinct per-channel slopes, some negative, so a shared slope would be caught.
                with torch.no_grad():
                    layer.weight.copy_(torch.rand(layer.weight.shape, generator=gen) * 0.8 - 0.2)
    return net.eval()


def srvgg_features(net, x):
    out = x
    for layer in list(net.body)[:-1]:
        out = layer(out)
    return out


@torch.no_grad()
def calibrate_last_conv(net, spec, x):
    """Rescale the last conv per output channel so that, on this input, its output has the target
    std and mean (RRDB: the image itself; SRVGG: the residual added to the upsampled input)."""
    if spec['arch'] == 'RRDBNet':
        conv, feats, target = net.conv_last, net.features(x), RRDB_TARGET
    else:
        conv, feats, target = net.body[-1], srvgg_features(net, x), SRVGG_TARGET
    raw = F.conv2d(feats, conv.weight, None, 1, 1)
    std = raw.std(dim=(0, 2, 3))
    conv.weight.mul_((target['std'] / std).view(-1, 1, 1, 1))
    raw = F.conv2d(feats, conv.weight, None, 1, 1)
    conv.bias.copy_(target['mean'] - raw.mean(dim=(0, 2, 3)))


def mod_padded(img_u8, scale):
    x = torch.from_numpy(np.ascontiguousarray(np.transpose(img_u8.astype(np.float32) / 255, (2, 0, 1)))).unsqueeze(0)
    mod = {2: 2, 1: 4}.get(scale, 1)
    ph, pw = (-x.shape[2]) % mod, (-x.shape[3]) % mod
    return F.pad(x, (0, pw, 0, ph), 'reflect') if ph or pw else x


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------

def sha256(data):
    return hashlib.sha256(data).hexdigest()


def torch_bytes(obj, legacy=False):
    buf = io.BytesIO()  # a buffer save: the zip's top folder is "archive", as in official releases
    torch.save(obj, buf, _use_new_zipfile_serialization=not legacy)
    return buf.getvalue()


def safetensors_bytes(sd):
    """safetensors: u64 LE header size, JSON header (`__metadata__` first, then tensors by name),
    padded with spaces to a multiple of 8, then the tensors' raw little-endian bytes. Like the
    reference writer, the data is laid out in name order (not the state dict's order)."""
    header = OrderedDict([('__metadata__', {'format': 'pt'})])
    blobs, offset = [], 0
    for name in sorted(sd):
        data = sd[name].detach().contiguous().numpy().astype('<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(sd[name].shape), 'data_offsets': [offset, offset + len(data)]}
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
    return {k: torch.from_numpy(np.frombuffer(data[base + v['data_offsets'][0]:base + v['data_offsets'][1]],
                                              dtype='<f4').reshape(v['shape']).copy())
            for k, v in header.items()}


def read_torch(data):
    return torch.load(io.BytesIO(data), map_location='cpu', weights_only=True)


def write_png(path, hwc_u8):
    Image.fromarray(hwc_u8, 'RGB').save(path, format='PNG', optimize=True)


def read_png(path):
    with Image.open(path) as im:
        return np.array(im.convert('RGB'), dtype=np.uint8)


# --------------------------------------------------------------------------------------------
# Statistics and checks
# --------------------------------------------------------------------------------------------

def output_stats(out_f, out_u8):
    clamped = (out_f < 0) | (out_f > 1)
    scaled = np.clip(out_f, 0, 1).astype(np.float32) * np.float32(255.0)
    frac = np.abs(scaled - np.floor(scaled) - 0.5)
    return {
        'float_min': round(float(out_f.min()), 6),
        'float_max': round(float(out_f.max()), 6),
        'float_mean': round(float(out_f.astype(np.float64).mean()), 6),
        'float_std': round(float(out_f.astype(np.float64).std()), 6),
        'values': int(out_f.size),
        'below_0': int((out_f < 0).sum()),
        'above_1': int((out_f > 1).sum()),
        'clamped_fraction': round(float(clamped.mean()), 6),
        'u8_mean': round(float(out_u8.mean()), 3),
        'u8_std': round(float(out_u8.astype(np.float64).std()), 3),
        'u8_distinct_values': int(len(np.unique(out_u8))),
        # values whose x * 255 lies within 0.001 of a .5 tie: where a port may round the other way
        'near_rounding_tie': int((frac < 1e-3).sum()),
    }


def check_healthy(name, stats):
    problems = []
    if stats['float_std'] <= 0.05:
        problems.append(f"std {stats['float_std']} <= 0.05")
    if stats['clamped_fraction'] >= 0.30:
        problems.append(f"{stats['clamped_fraction']:.1%} of values clamped")
    if problems:
        raise SystemExit(f'{name}: unhealthy output: ' + '; '.join(problems))


def probe_summary(ref_u8, other_u8):
    d = np.abs(ref_u8.astype(np.int16) - other_u8.astype(np.int16))
    return {'mean_abs_u8': round(float(d.mean()), 3), 'max_abs_u8': int(d.max()),
            'fraction_off_by_more_than_1': round(float((d > 1).mean()), 4)}


@torch.no_grad()
def sensitivity(net, spec, img_u8, ref_u8):
    """How much plausible porting mistakes change the 8-bit output: each must move some values by
    more than 1 (the test's tolerance) or the fixture could not catch it."""
    scale = spec['scale']
    probes = {}

    def run():
        return quantize(enhance_float(net, img_u8, scale, 0, DEFAULT_TILE_PAD, 0))

    def with_patch(setup, teardown):
        setup()
        try:
            return run()
        finally:
            teardown()

    if spec['arch'] == 'RRDBNet':
        rdbs = [r for b in net.body for r in (b.rdb1, b.rdb2, b.rdb3)]
        lrelus = [m for m in net.modules() if isinstance(m, nn.LeakyReLU)]
        probes['dense_blocks_as_identity'] = with_patch(
            lambda: [setattr(r, 'forward', lambda x: x) for r in rdbs],
            lambda: [r.__dict__.pop('forward') for r in rdbs])
        probes['trunk_skipped'] = with_patch(
            lambda: setattr(net.body, 'forward', lambda x: x * 0), lambda: net.body.__dict__.pop('forward'))
        probes['leakyrelu_slope_0.1_not_0.2'] = with_patch(
            lambda: [setattr(m, 'negative_slope', 0.1) for m in lrelus],
            lambda: [setattr(m, 'negative_slope', 0.2) for m in lrelus])
        if scale != 4:
            # pixel_unshuffle channel order (c, i, j) taken as (i, j, c)
            orig = net.unshuffled

            def wrong(x):
                s = 2 if scale == 2 else 4
                b, c, hh, hw = x.shape
                return x.view(b, c, hh // s, s, hw // s, s).permute(0, 3, 5, 1, 2, 4).reshape(b, c * s * s, hh // s, hw // s)
            probes['unshuffle_channel_order_ijc'] = with_patch(
                lambda: setattr(net, 'unshuffled', wrong), lambda: setattr(net, 'unshuffled', orig))
    else:
        last = net.body[-1]
        saved = (last.weight.clone(), last.bias.clone())

        def restore():
            last.weight.copy_(saved[0])
            last.bias.copy_(saved[1])
        probes['body_off_nearest_only'] = with_patch(lambda: (last.weight.zero_(), last.bias.zero_()), restore)
        acts = [m for m in net.body if not isinstance(m, nn.Conv2d)]
        if spec['act'] == 'prelu':
            saved_w = [a.weight.clone() for a in acts]
            probes['prelu_slopes_shared_mean'] = with_patch(
                lambda: [a.weight.fill_(float(a.weight.mean())) for a in acts],
                lambda: [a.weight.copy_(w) for a, w in zip(acts, saved_w)])
        elif spec['act'] == 'relu':
            probes['leakyrelu_0.1_instead_of_relu'] = with_patch(
                lambda: [setattr(a, 'forward', lambda x: F.leaky_relu(x, 0.1)) for a in acts],
                lambda: [a.__dict__.pop('forward') for a in acts])
        else:
            probes['leakyrelu_slope_0.2_not_0.1'] = with_patch(
                lambda: [setattr(a, 'negative_slope', 0.2) for a in acts],
                lambda: [setattr(a, 'negative_slope', 0.1) for a in acts])
    out = {}
    for name, u8 in probes.items():
        out[name] = probe_summary(ref_u8, u8)
        if out[name]['max_abs_u8'] <= 1:
            raise SystemExit(f"{spec['id']}: probe {name} changes no value by more than 1: fixture too weak")
    return out


def hyperparameters(spec):
    if spec['arch'] == 'RRDBNet':
        return {'num_in_ch': 3, 'num_out_ch': 3, 'scale': spec['scale'], 'num_feat': spec['num_feat'],
                'num_grow_ch': spec['num_grow_ch'], 'num_block': spec['num_block']}
    return {'num_in_ch': 3, 'num_out_ch': 3, 'upscale': spec['scale'], 'scale': spec['scale'],
            'num_feat': spec['num_feat'], 'num_conv': spec['num_conv'], 'act_type': spec['act']}


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

@torch.no_grad()
def generate(out):
    torch.set_num_threads(THREADS)
    out.mkdir(parents=True, exist_ok=True)
    # Expected PNGs are written once per content; clear the old ones (and checkpoints) first.
    ours = {f for f, _, _, _ in CHECKPOINTS} | {'input.png'}
    for stale in out.iterdir():
        if stale.name in ours or (stale.suffix == '.png' and stale.name.startswith(tuple(s['id'] for s in NETWORKS))):
            stale.unlink()

    img = make_input()
    write_png(out / 'input.png', img)
    if not np.array_equal(read_png(out / 'input.png'), img):
        raise SystemExit('input.png does not read back')

    nets, net_info, outputs = {}, {}, {}
    for spec in NETWORKS:
        net = build_network(spec)
        calibrate_last_conv(net, spec, mod_padded(img, spec['scale']))
        nets[spec['id']] = net
        runs = [(0, DEFAULT_TILE_PAD)] + [(t, p) for n, t, p in TILED_RUNS if n == spec['id']]
        run_info = []
        for tile, tile_pad in runs:
            out_f = enhance_float(net, img, spec['scale'], tile, tile_pad, 0)
            out_u8 = quantize(out_f)
            h, w = out_u8.shape[:2]
            if (w, h) != (INPUT_W * spec['scale'], INPUT_H * spec['scale']):
                raise SystemExit(f"{spec['id']}: output {w}x{h}")
            stats = output_stats(out_f, out_u8)
            check_healthy(f"{spec['id']} tile {tile}", stats)
            name = f"{spec['id']}.png" if tile == 0 else f"{spec['id']}_tile{tile}_pad{tile_pad}.png"
            entry = {'tile': tile, 'tile_pad': tile_pad, 'pre_pad': 0, 'expected': name,
                     'width': int(w), 'height': int(h),
                     'pixels_sha256': sha256(np.ascontiguousarray(out_u8).tobytes()), 'stats': stats}
            if tile:
                whole_f, whole_u8 = outputs[spec['id'], 0]
                cmp = diff_summary(whole_u8, out_u8)
                cmp['float_max_abs_diff'] = float(np.abs(whole_f - out_f).max())
                cmp['identical'] = bool(np.array_equal(whole_u8, out_u8))
                entry['vs_untiled'] = cmp
                if cmp['identical']:
                    # Bit-identical to the untiled output: recorded, not stored twice.
                    entry['expected'] = f"{spec['id']}.png"
            if not (out / entry['expected']).exists():
                write_png(out / entry['expected'], out_u8)
            outputs[spec['id'], tile] = (out_f, out_u8)
            run_info.append(entry)
        net_info[spec['id']] = {
            'architecture': spec['arch'],
            'hyperparameters': hyperparameters(spec),
            'seed': spec['seed'],
            'parameters': int(sum(p.numel() for p in net.parameters())),
            'runs': run_info,
            'sensitivity': sensitivity(net, spec, img, outputs[spec['id'], 0][1]),
        }
        print(f"{spec['id']}: {run_info[0]['stats']}", file=sys.stderr)

    # The original-layout networks must compute exactly what the BasicSR ones compute.
    old_nets = {}
    for net_id in sorted({n for _, n, layout, _ in CHECKPOINTS if layout == 'esrgan-old'}):
        spec = next(s for s in NETWORKS if s['id'] == net_id)
        if spec['scale'] != 4:
            raise SystemExit('the original ESRGAN layout has no pixel-unshuffle: x4 only')
        old = ESRGANOldArch(3, 3, spec['num_feat'], spec['num_block'], spec['num_grow_ch']).eval()
        old.load_state_dict(esrgan_old_state_dict(nets[net_id].state_dict(), spec['num_block']), strict=True)
        out_f = enhance_float(old, img, 4, 0, DEFAULT_TILE_PAD, 0)
        if not np.array_equal(out_f, outputs[net_id, 0][0]):
            raise SystemExit(f'{net_id}: ESRGANOldArch output differs from RRDBNet')
        old_nets[net_id] = old

    checkpoints, total = [], 0
    for file, net_id, layout, fmt in CHECKPOINTS:
        spec = next(s for s in NETWORKS if s['id'] == net_id)
        if layout == 'esrgan-old':
            sd, nested = old_nets[net_id].state_dict(), None  # a bare state dict, like the 2018 release
        else:
            sd = nets[net_id].state_dict()
            nested = 'params_ema' if spec['arch'] == 'RRDBNet' else 'params'
        if fmt == 'safetensors':
            data, nested = safetensors_bytes(sd), None
            back = read_safetensors(data)
        else:
            data = torch_bytes({nested: sd} if nested else sd, legacy=fmt == 'pytorch-legacy')
            back = read_torch(data)
            back = back[nested] if nested else back
        if list(sorted(back)) != list(sorted(sd)) or any(not torch.equal(back[k], sd[k]) for k in sd):
            raise SystemExit(f'{file}: does not read back')
        if len(data) > MAX_FILE:
            raise SystemExit(f'{file}: {len(data)} bytes, over the {MAX_FILE} byte limit')
        (out / file).write_bytes(data)
        activation = spec.get('act')
        deterministic = fmt != 'pytorch-legacy'
        checkpoints.append({
            'file': file,
            'network': net_id,
            'architecture': spec['arch'],
            'key_layout': layout,
            'format': fmt,
            'nested_key': nested,
            'hyperparameters': hyperparameters(spec),
            # What loadModelFile needs beyond the tensors: relu/leakyrelu SRVGG store no activation.
            'load_options': {'activation': activation} if activation in ('relu', 'leakyrelu') else {},
            'tensors': len(sd),
            'first_keys': list(sd)[:3],
            # Legacy files embed memory addresses: their bytes (and so these) change on every run.
            'bytes': len(data) if deterministic else None,
            'sha256': sha256(data) if deterministic else None,
            'deterministic': deterministic,
            'runs': [{k: r[k] for k in ('tile', 'tile_pad', 'pre_pad', 'expected', 'width', 'height', 'pixels_sha256')}
                     for r in net_info[net_id]['runs']],
        })

    manifest = {
        'description': 'Random-weight checkpoints of every supported architecture variant and format, with the '
                       'outputs PyTorch computes for input.png through RealESRGANer.enhance (RGB 8-bit).',
        'generated_by': {
            'command': COMMAND,
            'cwd': 'repository root',
            'scripts': ['tools/reference/make_variant_fixtures.py', 'tools/reference/archs.py',
                        'tools/reference/realesrgan_reference.py'],
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
            'pre_pad 0; alignment pad (reflect, right/bottom) to a multiple of 2 for scale 2, 4 for scale 1',
            'whole image (tile 0) or RealESRGANer.tile_process(tile, tile_pad)',
            'crop the pads; clamp [0,1]; (x * 255.0).round() in float32, half to even; uint8',
        ],
        'schema': {
            'checkpoints[]': 'one per file: file, network (key into networks), architecture (RRDBNet | '
                             'SRVGGNetCompact), key_layout (basicsr | esrgan-old | srvgg), format (pytorch-zip | '
                             'pytorch-legacy | safetensors), nested_key (params_ema | params | null), '
                             'hyperparameters, load_options (pass to loadModelFile), runs[] (tile, tile_pad, '
                             'pre_pad, expected PNG, width, height, pixels_sha256 of raw RGB bytes)',
            'networks{}': 'per network: hyperparameters, seed, runs with float/u8 output statistics and, for '
                          'tiled runs, vs_untiled; sensitivity: how far plausible porting mistakes move the '
                          '8-bit output (each must exceed the 1-level test tolerance somewhere)',
        },
        'checkpoints': checkpoints,
        'networks': net_info,
        'notes': [
            'num_feat 8 / num_grow_ch 4 with one RRDB block is 69 KB as a zip checkpoint, over the 60 KB '
            'fixture limit; the RRDB networks use num_grow_ch 2 or smaller num_feat instead.',
            'esrgan-old layout: model.0 = conv_first, model.1.sub.{i}.RDB{k}.conv{j}.0 = body.i.rdb{k}.conv{j}, '
            'model.1.sub.{num_block} = conv_body, model.3 = conv_up1, model.6 = conv_up2, model.8 = conv_hr, '
            'model.10 = conv_last (2, 5 are Upsample and 4, 7, 9 LeakyReLU: no tensors); x4 only.',
            'Legacy-format files embed memory addresses as storage keys: their bytes change on every run.',
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
