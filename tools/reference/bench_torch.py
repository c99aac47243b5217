"""The PyTorch side of `pnpm bench`: Real-ESRGAN's own inference path, timed like ours.

Two modes, each one process:

  upscale --weights W.pth --input IN.png --output OUT.png
      A whole run as `inference_realesrgan.py` does it for SRVGGNetCompact weights: import torch,
      load the checkpoint, read the image, RealESRGANer.enhance (tile 0, pre_pad 0), write the PNG.
      The PNG is written with zlib level 1, the speed cv2.imwrite (the reference's writer) uses by
      default. The orchestrator times the whole process.

  infer --arch srvgg16|srvgg32|rrdb6|rrdb23 --width W --height H --runs N
      The network's forward pass alone on a W x H input, random weights (seeded), after one
      warm-up; prints one JSON line {"medianMs": ..., "runs": ...}.

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
from realesrgan_reference import SRVGGNetCompact, enhance, load_model, read_rgb
from PIL import Image


def network(arch):
    if arch.startswith('srvgg'):
        return SRVGGNetCompact(num_in_ch=3, num_out_ch=3, num_feat=64, num_conv=int(arch[5:]), upscale=4, act_type='prelu')
    if arch.startswith('rrdb'):
        return RRDBNet(num_in_ch=3, num_out_ch=3, scale=4, num_feat=64, num_block=int(arch[4:]), num_grow_ch=32)
    raise SystemExit(f'unknown arch {arch}')


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
    print(json.dumps({'medianMs': times[len(times) // 2], 'runs': len(times), 'torch': torch.__version__}))


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
    args = parser.parse_args()
    (upscale if args.mode == 'upscale' else infer)(args)


if __name__ == '__main__':
    sys.exit(main())
