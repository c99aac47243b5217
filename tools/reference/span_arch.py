"""SPAN (Swift Parameter-free Attention Network, Wan et al., CVPR-W 2024), our own PyTorch
implementation for reference outputs. Written from the paper and the published definitions
(facts only): hongyuanyu/SPAN `basicsr/archs/span_arch.py` (the authors'), spandrel
`libs/spandrel/spandrel/architectures/SPAN/__arch/span.py` and its loader `SPAN/__init__.py`, and
neosr `neosr/archs/span_arch.py` (where the `no_norm` buffer comes from).

Network (feature_channels F, every convolution with a bias):

    x = (x - rgb_mean) * img_range           only when norm (no `no_norm` buffer in the state dict)
    f0 = conv_1(x)                            Conv3XC, in_ch -> F
    b1 = block_1(f0), ..., b6 = block_6(b5)   SPAB
    t = conv_2(b6)                            Conv3XC, F -> F
    y = conv_cat(cat[f0, t, b1, block_6's c1 output])   1x1, 4F -> F
    out = pixel_shuffle(upsampler.0(y), upscale)        3x3, F -> out_ch * upscale^2

No de-normalisation at the end: the output is the picture in 0..1 whatever `norm` is.

SPAB(x): o1 = c1_r(x); o2 = c2_r(silu(o1)); o3 = c3_r(silu(o2));
         att = sigmoid(o3) - 0.5; out = (o3 + x) * att.  It also hands o1 (before SiLU) out.

Conv3XC(c_in, c_out), gain 2: train-time form `conv` = 1x1 (c_in -> 2 c_in), 3x3 unpadded
(2 c_in -> 2 c_out), 1x1 (2 c_out -> c_out) applied to the input zero-padded by one pixel, plus
`sk` = 1x1 (c_in -> c_out) on the input. Every one of those is linear, so the sum is one 3x3
convolution with padding 1: the eval-time form `eval_conv`. The padding goes in before the first
1x1, so its bias reaches the border taps too, exactly as the folded bias assumes. In eval mode
every published definition re-derives eval_conv from `sk` and `conv` before each forward: the
`eval_conv` tensors a checkpoint stores are not what runs (they are stale when the checkpoint
was saved in training mode). Checkpoints hold all three: `sk`, `conv.{0,1,2}`, `eval_conv`.

Hyperparameters as spandrel reads them: num_in_ch and feature_channels from conv_1.sk.weight,
upscale and num_out_ch from upsampler.0.weight (out_ch * upscale^2 channels), norm = no `no_norm`
buffer; img_range 255 and rgb_mean (0.4488, 0.4371, 0.4040) are not in the file (the authors'
values; spandrel assumes them). `bias` is accepted and ignored, as upstream (all convolutions have
biases).

Needs PyTorch >= 1.13 (Debian: python3-torch, run as /usr/bin/python3).
"""

import torch
from torch import nn
from torch.nn import functional as F

DEFAULT_IMG_RANGE = 255.0
DEFAULT_RGB_MEAN = (0.4488, 0.4371, 0.4040)
GAIN = 2
BLOCKS = 6


def fold_conv3xc(w1, b1, w2, b2, w3, b3, wsk, bsk):
    """The single 3x3 convolution (weight [c_out, c_in, 3, 3], bias [c_out]) that computes
    conv3(conv2(conv1(pad(x)))) + sk(x). w1 [m, c_in, 1, 1], w2 [n, m, 3, 3], w3 [c_out, n, 1, 1],
    wsk [c_out, c_in, 1, 1]."""
    a = w1[:, :, 0, 0]   # [m, c_in]
    c = w3[:, :, 0, 0]   # [c_out, n]
    weight = torch.einsum('on,nmyx,mi->oiyx', c, w2, a)
    weight = weight + F.pad(wsk, (1, 1, 1, 1))
    inner = w2.sum(dim=(2, 3)) @ b1 + b2          # [n]: conv1's bias through the 3x3, plus its own
    bias = c @ inner + b3 + bsk
    return weight.contiguous(), bias.contiguous()


class Conv3XC(nn.Module):
    """Train-time branches (`sk`, `conv`) and the eval-time conv (`eval_conv`), as the state
    dict names them. `forward` in eval mode folds the branches first, as upstream does;
    `forward_branches` runs the train-time form (same function, other rounding)."""

    def __init__(self, c_in, c_out, gain=GAIN):
        super().__init__()
        self.sk = nn.Conv2d(c_in, c_out, 1)
        self.conv = nn.Sequential(
            nn.Conv2d(c_in, c_in * gain, 1),
            nn.Conv2d(c_in * gain, c_out * gain, 3),
            nn.Conv2d(c_out * gain, c_out, 1),
        )
        self.eval_conv = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.eval_conv.weight.requires_grad_(False)
        self.eval_conv.bias.requires_grad_(False)
        self.use_branches = False

    def folded(self):
        c0, c1, c2 = self.conv
        return fold_conv3xc(c0.weight, c0.bias, c1.weight, c1.bias, c2.weight, c2.bias, self.sk.weight, self.sk.bias)

    @torch.no_grad()
    def update_eval_conv(self):
        weight, bias = self.folded()
        self.eval_conv.weight.copy_(weight)
        self.eval_conv.bias.copy_(bias)

    def forward_branches(self, x):
        return self.conv(F.pad(x, (1, 1, 1, 1))) + self.sk(x)

    def forward(self, x):
        if self.training or self.use_branches:
            return self.forward_branches(x)
        weight, bias = self.folded()
        return F.conv2d(x, weight, bias, padding=1)


class SPAB(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.c1_r = Conv3XC(channels, channels)
        self.c2_r = Conv3XC(channels, channels)
        self.c3_r = Conv3XC(channels, channels)

    def forward(self, x):
        o1 = self.c1_r(x)
        o2 = self.c2_r(F.silu(o1))
        o3 = self.c3_r(F.silu(o2))
        att = torch.sigmoid(o3) - 0.5
        return (o3 + x) * att, o1


class SPAN(nn.Module):
    def __init__(self, num_in_ch=3, num_out_ch=3, feature_channels=48, upscale=4, bias=True, norm=True,
                 img_range=DEFAULT_IMG_RANGE, rgb_mean=DEFAULT_RGB_MEAN):
        super().__init__()
        del bias  # every convolution has a bias; upstream ignores the argument too
        self.upscale = upscale
        self.img_range = img_range
        self.rgb_mean = tuple(rgb_mean)
        self.norm = norm
        if not norm:
            # Its presence is the flag (neosr / spandrel); the value is never read.
            self.register_buffer('no_norm', torch.zeros(1))
        self.conv_1 = Conv3XC(num_in_ch, feature_channels)
        for i in range(1, BLOCKS + 1):
            setattr(self, f'block_{i}', SPAB(feature_channels))
        self.conv_cat = nn.Conv2d(feature_channels * 4, feature_channels, 1)
        self.conv_2 = Conv3XC(feature_channels, feature_channels)
        self.upsampler = nn.Sequential(
            nn.Conv2d(feature_channels, num_out_ch * upscale * upscale, 3, padding=1),
            nn.PixelShuffle(upscale),
        )

    def conv3xcs(self):
        return [m for m in self.modules() if isinstance(m, Conv3XC)]

    def normalise(self, x):
        if not self.norm:
            return x
        mean = torch.tensor(self.rgb_mean, dtype=x.dtype).view(1, -1, 1, 1)
        return (x - mean) * self.img_range

    def features(self, x):
        """The input of upsampler.0 (conv_cat's output)."""
        f0 = self.conv_1(self.normalise(x))
        b, o1 = f0, None
        outs = []
        for i in range(1, BLOCKS + 1):
            b, o1 = getattr(self, f'block_{i}')(b)
            outs.append(b)
        t = self.conv_2(b)
        return self.conv_cat(torch.cat([f0, t, outs[0], o1], dim=1))

    def forward(self, x):
        return self.upsampler(self.features(x))


def span_from_state_dict(sd, img_range=DEFAULT_IMG_RANGE, rgb_mean=DEFAULT_RGB_MEAN):
    """Hyperparameters read from the tensors (spandrel's rules) and the loaded network."""
    sk = sd['conv_1.sk.weight']
    num_in_ch, feature_channels = sk.shape[1], sk.shape[0]
    ups = sd['upsampler.0.weight'].shape[0]
    for out_ch in (num_in_ch, 3, 4, 1):
        s = round((ups / out_ch) ** 0.5)
        if ups % out_ch == 0 and s * s * out_ch == ups:
            break
    else:
        raise ValueError(f'upsampler.0.weight has {ups} output channels: not out_ch * scale^2')
    net = SPAN(num_in_ch, out_ch, feature_channels, s, norm='no_norm' not in sd, img_range=img_range,
               rgb_mean=rgb_mean)
    net.load_state_dict(sd, strict=True)
    return net.eval()
