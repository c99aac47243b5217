"""GFPGANv1Clean (GFPGAN v1.3 / v1.4, `gfpgan/archs/gfpganv1_clean_arch.py` and
`stylegan2_clean_arch.py`; facts and upstream lines in docs/research/face-enhance-upstream.md
section 6), our own PyTorch re-implementation, as GFPGANer runs it (input_is_latent, different_w,
sft_half, return_rgb False) except for the noise: upstream draws fresh random noise on every call;
this runs with the stored `noises.noise{i}` buffers (randomize_noise=False), the deterministic
choice superres makes.

Writes packages/models/test/fixtures/reference/gfpgan/formula-<size>.json for the real
configuration (out_size 512, channel_multiplier 2) and a small one (out_size 32, channel
multiplier 1): weights from the shared formula (retinaface_reference.formula_state_dict), a formula
face in [-1, 1], and the output image at every 8th pixel of every row and column (base64 float32).

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


def up2(x):
    return F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False)


class ModulatedConv2d(nn.Module):
    def __init__(self, inp, out, k, style_dim, demodulate=True, upsample=False):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, out, inp, k, k))
        self.modulation = nn.Linear(style_dim, inp)
        self.demodulate, self.upsample, self.padding = demodulate, upsample, k // 2

    def forward(self, x, style):
        b, c = x.shape[:2]
        s = self.modulation(style).view(b, 1, c, 1, 1)
        weight = self.weight * s
        if self.demodulate:
            weight = weight * torch.rsqrt(weight.pow(2).sum([2, 3, 4]) + 1e-8).view(b, -1, 1, 1, 1)
        if self.upsample:
            x = up2(x)
        return F.conv2d(x, weight.view(-1, c, *weight.shape[3:]), padding=self.padding, groups=b)


class StyleConv(nn.Module):
    def __init__(self, inp, out, style_dim, upsample=False):
        super().__init__()
        self.modulated_conv = ModulatedConv2d(inp, out, 3, style_dim, True, upsample)
        self.weight = nn.Parameter(torch.zeros(1))
        self.bias = nn.Parameter(torch.zeros(1, out, 1, 1))

    def forward(self, x, style, noise):
        out = self.modulated_conv(x, style) * 2**0.5
        out = out + self.weight * noise + self.bias
        return F.leaky_relu(out, 0.2)


class ToRGB(nn.Module):
    def __init__(self, inp, style_dim, upsample=True):
        super().__init__()
        self.modulated_conv = ModulatedConv2d(inp, 3, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))
        self.upsample = upsample

    def forward(self, x, style, skip=None):
        out = self.modulated_conv(x, style) + self.bias
        if skip is not None:
            out = out + (up2(skip) if self.upsample else skip)
        return out


class StyleGAN2GeneratorCSFT(nn.Module):
    def __init__(self, out_size, style_dim=512, channel_multiplier=2, num_mlp=8):
        super().__init__()
        cm = channel_multiplier
        self.channels = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256 * cm, 128: 128 * cm, 256: 64 * cm, 512: 32 * cm, 1024: 16 * cm}
        layers = [nn.Identity()]
        for _ in range(num_mlp):
            layers += [nn.Linear(style_dim, style_dim), nn.LeakyReLU(0.2)]
        self.style_mlp = nn.Sequential(*layers)  # unused with input_is_latent; its tensors are in the checkpoint
        self.log_size = int(math.log2(out_size))
        self.num_layers = (self.log_size - 2) * 2 + 1
        self.constant_input = nn.Module()
        self.constant_input.weight = nn.Parameter(torch.zeros(1, self.channels[4], 4, 4))
        self.style_conv1 = StyleConv(self.channels[4], self.channels[4], style_dim)
        self.to_rgb1 = ToRGB(self.channels[4], style_dim, upsample=False)
        self.style_convs, self.to_rgbs = nn.ModuleList(), nn.ModuleList()
        self.noises = nn.Module()
        for idx in range(self.num_layers):
            r = 2 ** ((idx + 5) // 2)
            self.noises.register_buffer(f'noise{idx}', torch.zeros(1, 1, r, r))
        inp = self.channels[4]
        for i in range(3, self.log_size + 1):
            out = self.channels[2**i]
            self.style_convs.append(StyleConv(inp, out, style_dim, upsample=True))
            self.style_convs.append(StyleConv(out, out, style_dim))
            self.to_rgbs.append(ToRGB(out, style_dim))
            inp = out

    def forward(self, latent, conditions):
        noise = [getattr(self.noises, f'noise{i}') for i in range(self.num_layers)]
        out = self.constant_input.weight
        out = self.style_conv1(out, latent[:, 0], noise[0])
        skip = self.to_rgb1(out, latent[:, 1])
        i = 1
        for conv1, conv2, n1, n2, to_rgb in zip(self.style_convs[::2], self.style_convs[1::2], noise[1::2], noise[2::2], self.to_rgbs):
            out = conv1(out, latent[:, i], n1)
            if i < len(conditions):
                same, sft = torch.split(out, out.size(1) // 2, dim=1)
                out = torch.cat([same, sft * conditions[i - 1] + conditions[i]], dim=1)
            out = conv2(out, latent[:, i + 1], n2)
            skip = to_rgb(out, latent[:, i + 2], skip)
            i += 2
        return skip


class ResBlock(nn.Module):
    def __init__(self, inp, out, mode):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, inp, 3, 1, 1)
        self.conv2 = nn.Conv2d(inp, out, 3, 1, 1)
        self.skip = nn.Conv2d(inp, out, 1, bias=False)
        self.scale = 0.5 if mode == 'down' else 2

    def forward(self, x):
        out = F.leaky_relu(self.conv1(x), 0.2)
        out = F.interpolate(out, scale_factor=self.scale, mode='bilinear', align_corners=False)
        out = F.leaky_relu(self.conv2(out), 0.2)
        x = F.interpolate(x, scale_factor=self.scale, mode='bilinear', align_corners=False)
        return out + self.skip(x)


class GFPGANv1Clean(nn.Module):
    def __init__(self, out_size=512, num_style_feat=512, channel_multiplier=2, narrow=1):
        super().__init__()
        un = narrow * 0.5
        ch = {4: int(512 * un), 8: int(512 * un), 16: int(512 * un), 32: int(512 * un), 64: int(256 * channel_multiplier * un),
              128: int(128 * channel_multiplier * un), 256: int(64 * channel_multiplier * un), 512: int(32 * channel_multiplier * un),
              1024: int(16 * channel_multiplier * un)}
        self.log_size = int(math.log2(out_size))
        first = 2 ** self.log_size
        self.conv_body_first = nn.Conv2d(3, ch[first], 1)
        inp = ch[first]
        self.conv_body_down = nn.ModuleList()
        for i in range(self.log_size, 2, -1):
            out = ch[2 ** (i - 1)]
            self.conv_body_down.append(ResBlock(inp, out, 'down'))
            inp = out
        self.final_conv = nn.Conv2d(inp, ch[4], 3, 1, 1)
        inp = ch[4]
        self.conv_body_up = nn.ModuleList()
        for i in range(3, self.log_size + 1):
            out = ch[2**i]
            self.conv_body_up.append(ResBlock(inp, out, 'up'))
            inp = out
        self.toRGB = nn.ModuleList([nn.Conv2d(ch[2**i], 3, 1) for i in range(3, self.log_size + 1)])  # unused (return_rgb False)
        self.num_latent = self.log_size * 2 - 2
        self.final_linear = nn.Linear(ch[4] * 4 * 4, num_style_feat * self.num_latent)
        self.stylegan_decoder = StyleGAN2GeneratorCSFT(out_size, num_style_feat, channel_multiplier)
        self.condition_scale, self.condition_shift = nn.ModuleList(), nn.ModuleList()
        for i in range(3, self.log_size + 1):
            c = ch[2**i]
            self.condition_scale.append(nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.LeakyReLU(0.2, True), nn.Conv2d(c, c, 3, 1, 1)))
            self.condition_shift.append(nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.LeakyReLU(0.2, True), nn.Conv2d(c, c, 3, 1, 1)))
        self.num_style_feat = num_style_feat

    def forward(self, x):
        feat = F.leaky_relu(self.conv_body_first(x), 0.2)
        skips = []
        for block in self.conv_body_down:
            feat = block(feat)
            skips.insert(0, feat)
        feat = F.leaky_relu(self.final_conv(feat), 0.2)
        style = self.final_linear(feat.view(feat.size(0), -1)).view(feat.size(0), -1, self.num_style_feat)
        conditions = []
        for i, block in enumerate(self.conv_body_up):
            feat = block(feat + skips[i])
            conditions.append(self.condition_scale[i](feat).clone())
            conditions.append(self.condition_shift[i](feat).clone())
        return self.stylegan_decoder(style, conditions)


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out-dir', default=os.path.join(root, 'packages/models/test/fixtures/reference/gfpgan'))
    args = parser.parse_args()
    torch.set_num_threads(2)
    os.makedirs(args.out_dir, exist_ok=True)
    for size, multiplier in ((32, 1), (512, 2)):
        model = GFPGANv1Clean(out_size=size, channel_multiplier=multiplier).eval()
        state = formula_state_dict(model)
        model.load_state_dict(state, strict=True)
        n = 3 * size * size
        face = np.sin(0.37 * np.arange(n, dtype=np.float64)).astype(np.float32).reshape(1, 3, size, size)
        with torch.no_grad():
            image = model(torch.from_numpy(face))
        step = 8 if size > 64 else 1
        sampled = image[:, :, ::step, ::step].contiguous()
        with open(os.path.join(args.out_dir, f'formula-{size}.json'), 'w') as f:
            json.dump({'outSize': size, 'channelMultiplier': multiplier, 'torch': torch.__version__, 'step': step,
                       'tensors': [[k, list(v.shape)] for k, v in state.items()], 'sampledShape': list(sampled.shape),
                       'image': base64.b64encode(sampled.numpy().astype('<f4').tobytes()).decode('ascii')}, f)
            f.write('\n')
        print(f'out_size {size}: image {list(image.shape)}, range {float(image.min()):.3f}..{float(image.max()):.3f}')


if __name__ == '__main__':
    main()
