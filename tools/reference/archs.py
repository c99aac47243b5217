"""PyTorch architectures of the Real-ESRGAN family, our own re-implementations for reference
outputs (no basicsr/realesrgan install needed).

- `RRDBNet`: BasicSR `basicsr/archs/rrdbnet_arch.py` (ESRGAN generator as used by Real-ESRGAN:
  RealESRGAN_x4plus, RealESRGAN_x2plus, ...). State-dict keys: conv_first, body.N.rdb{1,2,3}.conv{1..5},
  conv_body, conv_up1, conv_up2, conv_hr, conv_last. Scale 2 and 1 pixel-unshuffle the input first
  (by 2 and 4), so conv_first takes 4x / 16x the input channels.
- `ESRGANOldArch`: the same x4 network in the key layout of the original ESRGAN release
  (xinntao/ESRGAN `architecture.py` + `block.py`, e.g. RRDB_ESRGAN_x4_old_arch.pth): one flattened
  `model` Sequential. `esrgan_old_keys()` maps BasicSR names to it.
- `SRVGGNetCompact`: re-exported from realesrgan_reference.py (the one the animevideov3 reference
  uses), so both scripts run the same code.

Needs PyTorch >= 1.13 (Debian: python3-torch, run as /usr/bin/python3).
"""

import re
from collections import OrderedDict

import torch
from torch import nn
from torch.nn import functional as F

from realesrgan_reference import SRVGGNetCompact, make_act  # noqa: F401  (re-exported)

# --------------------------------------------------------------------------------------------
# BasicSR RRDBNet
# --------------------------------------------------------------------------------------------


def pixel_unshuffle(x, scale):
    """BasicSR arch_util.pixel_unshuffle: (b, c, h*s, w*s) -> (b, c*s*s, h, w); channel index
    c*s*s + i*s + j takes the pixel at row offset i, column offset j (same as F.pixel_unshuffle)."""
    b, c, hh, hw = x.size()
    if hh % scale != 0 or hw % scale != 0:
        raise ValueError(f'pixel_unshuffle: {hh}x{hw} is not a multiple of {scale}')
    h, w = hh // scale, hw // scale
    return x.view(b, c, h, scale, w, scale).permute(0, 1, 3, 5, 2, 4).reshape(b, c * scale * scale, h, w)


class ResidualDenseBlock(nn.Module):
    """5 convs with dense concatenation; LeakyReLU(0.2) after conv1..4; returns x5 * 0.2 + x."""

    def __init__(self, num_feat=64, num_grow_ch=32):
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_grow_ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat + num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv3 = nn.Conv2d(num_feat + 2 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv4 = nn.Conv2d(num_feat + 3 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv5 = nn.Conv2d(num_feat + 4 * num_grow_ch, num_feat, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x):
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x5 * 0.2 + x


class RRDB(nn.Module):
    """Three residual dense blocks; returns out * 0.2 + x."""

    def __init__(self, num_feat, num_grow_ch=32):
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x):
        out = self.rdb1(x)
        out = self.rdb2(out)
        out = self.rdb3(out)
        return out * 0.2 + x


class RRDBNet(nn.Module):
    """conv_first -> (+ conv_body(body)) -> 2x [nearest x2, conv_up, lrelu] -> conv_hr, lrelu ->
    conv_last. Always upsamples x4 internally; scale 2 / 1 unshuffle the input by 2 / 4 first."""

    def __init__(self, num_in_ch=3, num_out_ch=3, scale=4, num_feat=64, num_block=23, num_grow_ch=32):
        super().__init__()
        if scale not in (1, 2, 4):
            raise ValueError(f'RRDBNet scale must be 1, 2 or 4, got {scale}')
        self.scale = scale
        in_ch = num_in_ch * {4: 1, 2: 4, 1: 16}[scale]
        self.conv_first = nn.Conv2d(in_ch, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(num_feat, num_grow_ch) for _ in range(num_block)])
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def unshuffled(self, x):
        if self.scale == 2:
            return pixel_unshuffle(x, 2)
        if self.scale == 1:
            return pixel_unshuffle(x, 4)
        return x

    def features(self, x):
        """Everything up to (not including) conv_last."""
        feat = self.conv_first(self.unshuffled(x))
        feat = feat + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode='nearest')))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode='nearest')))
        return self.lrelu(self.conv_hr(feat))

    def forward(self, x):
        return self.conv_last(self.features(x))


# --------------------------------------------------------------------------------------------
# Original ESRGAN key layout (xinntao/ESRGAN architecture.py RRDB_Net, x4, upconv, CNA)
# --------------------------------------------------------------------------------------------
#
# block.sequential() flattens nested Sequentials, and conv_block() returns Sequential(conv[, act])
# (None entries dropped), so the top-level `model` is:
#   0 conv (fea_conv)            1 ShortcutBlock(sub = Sequential(RRDB x nb, conv LR_conv))
#   2 Upsample  3 conv  4 LReLU  5 Upsample  6 conv  7 LReLU  8 conv (HR_conv0)  9 LReLU
#   10 conv (HR_conv1)
# Inside: model.1.sub.{i}.RDB{k}.conv{j}.0 is a conv (conv1..4 are Sequential(conv, LReLU),
# conv5 is Sequential(conv)), and model.1.sub.{nb} is LR_conv (BasicSR's conv_body).
# Note: upstream RRDB_Net passes gc=32 to every RRDB whatever its own gc argument says; the tensors'
# shapes are what count, so this class takes num_grow_ch.


class _Shortcut(nn.Module):
    def __init__(self, sub):
        super().__init__()
        self.sub = sub

    def forward(self, x):
        return x + self.sub(x)


class _OldRDB(nn.Module):
    def __init__(self, nf, gc):
        super().__init__()
        for j in range(1, 5):
            setattr(self, f'conv{j}', nn.Sequential(nn.Conv2d(nf + (j - 1) * gc, gc, 3, 1, 1),
                                                    nn.LeakyReLU(0.2, inplace=True)))
        self.conv5 = nn.Sequential(nn.Conv2d(nf + 4 * gc, nf, 3, 1, 1))

    def forward(self, x):
        x1 = self.conv1(x)
        x2 = self.conv2(torch.cat((x, x1), 1))
        x3 = self.conv3(torch.cat((x, x1, x2), 1))
        x4 = self.conv4(torch.cat((x, x1, x2, x3), 1))
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x5.mul(0.2) + x


class _OldRRDB(nn.Module):
    def __init__(self, nf, gc):
        super().__init__()
        self.RDB1 = _OldRDB(nf, gc)
        self.RDB2 = _OldRDB(nf, gc)
        self.RDB3 = _OldRDB(nf, gc)

    def forward(self, x):
        return self.RDB3(self.RDB2(self.RDB1(x))).mul(0.2) + x


class ESRGANOldArch(nn.Module):
    """x4 RRDB network with the original ESRGAN `model.N` state-dict layout."""

    def __init__(self, num_in_ch=3, num_out_ch=3, num_feat=64, num_block=23, num_grow_ch=32):
        super().__init__()
        nf = num_feat
        trunk = [_OldRRDB(nf, num_grow_ch) for _ in range(num_block)] + [nn.Conv2d(nf, nf, 3, 1, 1)]
        self.model = nn.Sequential(
            nn.Conv2d(num_in_ch, nf, 3, 1, 1),
            _Shortcut(nn.Sequential(*trunk)),
            nn.Upsample(scale_factor=2, mode='nearest'),
            nn.Conv2d(nf, nf, 3, 1, 1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Upsample(scale_factor=2, mode='nearest'),
            nn.Conv2d(nf, nf, 3, 1, 1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(nf, nf, 3, 1, 1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(nf, num_out_ch, 3, 1, 1),
        )

    def forward(self, x):
        return self.model(x)


def esrgan_old_key(name, num_block):
    """BasicSR RRDBNet (scale 4) state-dict name -> original ESRGAN name."""
    fixed = {'conv_first': 'model.0', 'conv_body': f'model.1.sub.{num_block}', 'conv_up1': 'model.3',
             'conv_up2': 'model.6', 'conv_hr': 'model.8', 'conv_last': 'model.10'}
    layer, _, param = name.rpartition('.')
    if layer in fixed:
        return f'{fixed[layer]}.{param}'
    m = re.fullmatch(r'body\.(\d+)\.rdb([123])\.conv([1-5])', layer)
    if not m:
        raise KeyError(f'not a BasicSR RRDBNet key: {name}')
    return f'model.1.sub.{m[1]}.RDB{m[2]}.conv{m[3]}.0.{param}'


def esrgan_old_state_dict(basicsr_sd, num_block):
    return OrderedDict((esrgan_old_key(k, num_block), v) for k, v in basicsr_sd.items())
