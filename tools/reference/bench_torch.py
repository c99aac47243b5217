"""The PyTorch side of `pnpm bench`: Real-ESRGAN's own inference path, timed like ours.

Two modes, each one process:

  upscale --weights W.pth --input IN.png --output OUT.png
      A whole run as `inference_realesrgan.py` does it for SRVGGNetCompact weights: import torch,
      load the checkpoint, read the image, RealESRGANer.enhance (tile 0, pre_pad 0), write the PNG.
      The PNG is written with zlib level 1, the speed cv2.imwrite (the reference's writer) uses by
      default. The orchestrator times the whole process.

  infer --arch srvgg16|srvgg32|rrdb6|rrdb23|<a PUBLISHED name> --width W --height H --runs N
      The network's forward pass alone on a W x H input, random weights (seeded), after one
      warm-up; prints one JSON line {"medianMs": ..., "runs": ...}.

  save --arch <a PUBLISHED name> --output OUT.pth
      The same random-weight network's state dict as a torch zip (under `params`), for superres to
      convert: both sides then run the same network.

Threads: torch.set_num_threads(SUPERRES_BENCH_THREADS, default 2). Needs Debian's python3-torch,
python3-numpy and python3-pil; run as /usr/bin/python3.
"""

import argparse
import json
import os
import sys
import time

import torch

from archs import RRDBNet
from dat_arch import DAT
from hat_arch import HAT
from omnisr_arch import OmniSR
from plksr_arch import PLKSR, RealPLKSR
from realesrgan_reference import SRVGGNetCompact, enhance, load_model, read_rgb
from span_arch import SPAN
from swinir_arch import SwinIR
from PIL import Image

# The modern architectures at the sizes their authors published (x4), our reference
# implementations (tools/reference/*_arch.py).
PUBLISHED = {
    'span': lambda: SPAN(feature_channels=48, upscale=4),
    'plksr': lambda: PLKSR(dim=64, n_blocks=28, upscaling_factor=4),
    'realplksr': lambda: RealPLKSR(dim=64, n_blocks=28, upscaling_factor=4),
    'omnisr': lambda: OmniSR(num_feat=64, block_num=1, res_num=5, window_size=8, pe=True, up_scale=4),
    'swinir-light': lambda: SwinIR(img_size=64, embed_dim=60, depths=[6] * 4, num_heads=[6] * 4, window_size=8,
                                   mlp_ratio=2.0, upscale=4, upsampler='pixelshuffledirect'),
    'swinir-m': lambda: SwinIR(img_size=48, embed_dim=180, depths=[6] * 6, num_heads=[6] * 6, window_size=8,
                               mlp_ratio=2.0, upscale=4, upsampler='pixelshuffle'),
    'hat': lambda: HAT(img_size=64, embed_dim=180, depths=[6] * 6, num_heads=[6] * 6, window_size=16, compress_ratio=3,
                       squeeze_factor=30, overlap_ratio=0.5, mlp_ratio=2.0, upscale=4),
    'dat-light': lambda: DAT(embed_dim=60, split_size=(8, 32), depth=[18], num_heads=[6], expansion_factor=2.0,
                             upscale=4, resi_connection='3conv', upsampler='pixelshuffledirect', img_size=64),
    'dat': lambda: DAT(embed_dim=180, split_size=(8, 32), depth=[6] * 6, num_heads=[6] * 6, expansion_factor=2.0,
                       upscale=4, img_size=64),
}


def network(arch):
    if arch in PUBLISHED:
        return PUBLISHED[arch]()
    if arch.startswith('srvgg'):
        return SRVGGNetCompact(num_in_ch=3, num_out_ch=3, num_feat=64, num_conv=int(arch[5:]), upscale=4, act_type='prelu')
    if arch.startswith('rrdb'):
        return RRDBNet(num_in_ch=3, num_out_ch=3, scale=4, num_feat=64, num_block=int(arch[4:]), num_grow_ch=32)
    raise SystemExit(f'unknown arch {arch}')


def blas():
    """The BLAS behind PyTorch's matrix products: Debian's torch is built with BLAS_INFO=generic and
    takes libblas.so.3, which is the reference implementation unless OpenBLAS is installed."""
    return os.path.realpath('/usr/lib/x86_64-linux-gnu/libblas.so.3')


def infer(args):
    torch.manual_seed(0)
    model = network(args.arch).eval()
    x = torch.rand(1, 3, args.height, args.width)
    times = []
    with torch.no_grad():
        model(x)
        for _ in range(args.runs):
            t0 = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    print(json.dumps({'medianMs': times[len(times) // 2], 'runs': len(times), 'torch': torch.__version__,
                      'parameters': sum(p.numel() for p in model.parameters()), 'blas': blas()}))


def save(args):
    torch.manual_seed(0)
    model = network(args.arch).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    torch.save({'params': model.state_dict()}, args.output)


def upscale(args):
    model, _key = load_model(args.weights)
    out = enhance(model, read_rgb(args.input))
    Image.fromarray(out, 'RGB').save(args.output, format='PNG', compress_level=1)


def main():
    torch.set_num_threads(int(os.environ.get('SUPERRES_BENCH_THREADS', '2')))
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest='mode', required=True)
    u = sub.add_parser('upscale')
    u.add_argument('--weights', required=True)
    u.add_argument('--input', required=True)
    u.add_argument('--output', required=True)
    i = sub.add_parser('infer')
    i.add_argument('--arch', required=True)
    i.add_argument('--width', type=int, required=True)
    i.add_argument('--height', type=int, required=True)
    i.add_argument('--runs', type=int, default=3)
    s = sub.add_parser('save')
    s.add_argument('--arch', required=True)
    s.add_argument('--output', required=True)
    args = parser.parse_args()
    {'upscale': upscale, 'infer': infer, 'save': save}[args.mode](args)


if __name__ == '__main__':
    sys.exit(main())
