"""ParseNet as facexlib builds it (facexlib/parsing/parsenet.py; facts and upstream lines in
docs/research/face-enhance-upstream.md section 5), our own PyTorch re-implementation.

Writes packages/models/test/fixtures/reference/parsenet/formula.json: the 19-class mask logits of
the real configuration (in_size 512: 4 residual blocks down, 10 in the body, 4 up) with formula
weights (retinaface_reference.formula_state_dict; the TypeScript test rebuilds them) on a 32x32
formula image in [-1, 1], as little-endian float32 in base64, with the tensors' names and shapes.

Needs PyTorch >= 1.13 (Debian: python3-torch, run as /usr/bin/python3).
"""

import argparse
import base64
import json
import math
import os

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from retinaface_reference import formula_state_dict


class NormLayer(nn.Module):
    def __init__(self, channels, norm_type):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=True) if norm_type == 'bn' else nn.Identity()

    def forward(self, x):
        return self.norm(x)


class ConvLayer(nn.Module):
    def __init__(self, inp, out, kernel_size=3, scale='none', norm_type='none', relu=False):
        super().__init__()
        self.scale = scale
        self.pad = nn.ReflectionPad2d(int(math.ceil((kernel_size - 1) / 2)))
        self.conv2d = nn.Conv2d(inp, out, kernel_size, 2 if scale == 'down' else 1, bias=norm_type != 'bn')
        self.norm = NormLayer(out, norm_type) if norm_type == 'bn' else None
        self.relu = relu

    def forward(self, x):
        if self.scale == 'up':
            x = F.interpolate(x, scale_factor=2, mode='nearest')
        x = self.conv2d(self.pad(x))
        if self.norm is not None:
            x = self.norm(x)
        return F.leaky_relu(x, 0.2) if self.relu else x


class ResidualBlock(nn.Module):
    def __init__(self, inp, out, scale='none'):
        super().__init__()
        if scale == 'none' and inp == out:
            self.shortcut_func = None
        else:
            self.shortcut_func = ConvLayer(inp, out, 3, scale)
        first, second = {'down': ('none', 'down'), 'up': ('up', 'none'), 'none': ('none', 'none')}[scale]
        self.conv1 = ConvLayer(inp, out, 3, first, 'bn', relu=True)
        self.conv2 = ConvLayer(out, out, 3, second, 'bn', relu=False)

    def forward(self, x):
        identity = x if self.shortcut_func is None else self.shortcut_func(x)
        return identity + self.conv2(self.conv1(x))


class ParseNet(nn.Module):
    def __init__(self, in_size=512, min_feat_size=32, base_ch=64, parsing_ch=19, res_depth=10, ch_range=(32, 256)):
        super().__init__()
        clip = lambda c: max(ch_range[0], min(c, ch_range[1]))  # noqa: E731
        steps = int(math.log2(in_size // min_feat_size))
        encoder = [ConvLayer(3, base_ch, 3)]
        head = base_ch
        for _ in range(steps):
            cin, cout = clip(head), clip(head * 2)
            encoder.append(ResidualBlock(cin, cout, 'down'))
            head *= 2
        self.encoder = nn.Sequential(*encoder)
        self.body = nn.Sequential(*[ResidualBlock(clip(head), clip(head)) for _ in range(res_depth)])
        decoder = []
        for _ in range(steps):
            cin, cout = clip(head), clip(head // 2)
            decoder.append(ResidualBlock(cin, cout, 'up'))
            head //= 2
        self.decoder = nn.Sequential(*decoder)
        self.out_img_conv = ConvLayer(clip(head), 3)
        self.out_mask_conv = ConvLayer(clip(head), parsing_ch)

    def forward(self, x):
        feat = self.encoder(x)
        x = feat + self.body(feat)
        x = self.decoder(x)
        return self.out_mask_conv(x), self.out_img_conv(x)


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default=os.path.join(root, 'packages/models/test/fixtures/reference/parsenet/formula.json'))
    parser.add_argument('--size', type=int, default=32)
    args = parser.parse_args()
    torch.set_num_threads(2)
    model = ParseNet().eval()
    state = formula_state_dict(model)
    model.load_state_dict(state, strict=True)
    n = 3 * args.size * args.size
    image = np.sin(0.37 * np.arange(n, dtype=np.float64)).astype(np.float32).reshape(1, 3, args.size, args.size)
    with torch.no_grad():
        mask, _ = model(torch.from_numpy(image))
    tensors = [[k, list(v.shape)] for k, v in state.items() if not k.endswith('num_batches_tracked')]
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump({'size': args.size, 'torch': torch.__version__, 'tensors': tensors, 'maskShape': list(mask.shape),
                   'mask': base64.b64encode(mask.numpy().astype('<f4').tobytes()).decode('ascii')}, f)
        f.write('\n')
    print(f'mask {list(mask.shape)}, range {float(mask.min()):.3f}..{float(mask.max()):.3f}')


if __name__ == '__main__':
    main()
