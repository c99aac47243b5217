"""OmniSR ("Omni Aggregation Networks for Lightweight Image Super-Resolution", CVPR 2023; the
authors' Francis0625/Omni-SR, as spandrel packages it in
libs/spandrel/spandrel/architectures/OmniSR/__arch/), written from those definitions for the
fixtures: the same module tree and tensor names, plain reshape/permute instead of einops.

OmniSR: zero-pad the input right/bottom to a multiple of window_size; input conv3x3; res_num OSAG
groups; output conv3x3 + the input conv's features; up = conv3x3 (num_feat -> out s^2) +
pixel_shuffle; crop to H s x W s.
OSAG: block_num OSA blocks, a conv1x1, + the group's input, then ESA.
OSA block (`layer`, a Sequential whose indices name the tensors):
  0  MBConv (expansion 1): conv1x1, GELU, depthwise 3x3, GELU, squeeze-excitation (mean over the
     whole image, Linear, SiLU, Linear, Sigmoid), conv1x1, + input
  1  window partition (w x w blocks)
  2  LayerNorm (channels-last, eps 1e-5) -> multi-head attention in each window (4 heads, relative
     position bias when pe) -> + input
  3  window reverse
  4  LayerNorm2d (eps 1e-6) -> gated conv feed-forward -> + input
  5  LayerNorm2d -> channel attention per w x w window (q, k L2-normalised over the window's
     pixels, learned temperature per head) -> + input
  6  gated conv feed-forward
  7  grid partition: window (x, y) holds the pixels (i X + x, j Y + y), X = H / w, Y = W / w
  8  LayerNorm -> attention in each grid window -> + input
  9  grid reverse
  10 gated conv feed-forward
  11 channel attention over each of the w^2 strided grids (pixels (h w + i, ...): the whole image)
  12 gated conv feed-forward
"""

import math

import torch
from torch import nn
from torch.nn import functional as F


class LayerNorm2d(nn.Module):
    """Layer norm over the channels of each pixel (NCHW), eps 1e-6."""

    def __init__(self, channels, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x):
        mu = x.mean(1, keepdim=True)
        var = (x - mu).pow(2).mean(1, keepdim=True)
        y = (x - mu) / (var + self.eps).sqrt()
        return self.weight.view(1, -1, 1, 1) * y + self.bias.view(1, -1, 1, 1)


class PreNormResidual(nn.Module):
    def __init__(self, dim, fn):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fn = fn

    def forward(self, x):
        return self.fn(self.norm(x)) + x


class ConvPreNormResidual(nn.Module):
    def __init__(self, dim, fn):
        super().__init__()
        self.norm = LayerNorm2d(dim)
        self.fn = fn

    def forward(self, x):
        return self.fn(self.norm(x)) + x


class GatedConvFeedForward(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.project_in = nn.Conv2d(dim, dim * 2, 1, bias=False)
        self.dwconv = nn.Conv2d(dim * 2, dim * 2, 3, padding=1, groups=dim * 2, bias=False)
        self.project_out = nn.Conv2d(dim, dim, 1, bias=False)

    def forward(self, x):
        a, b = self.dwconv(self.project_in(x)).chunk(2, dim=1)
        return self.project_out(F.gelu(a) * b)


class SqueezeExcitation(nn.Module):
    def __init__(self, dim, shrinkage_rate=0.25):
        super().__init__()
        hidden = int(dim * shrinkage_rate)
        # Indices as upstream's Sequential(Reduce, Linear, SiLU, Linear, Sigmoid, Rearrange).
        self.gate = nn.Sequential(nn.Identity(), nn.Linear(dim, hidden, bias=False), nn.SiLU(),
                                  nn.Linear(hidden, dim, bias=False), nn.Sigmoid())

    def forward(self, x):
        g = self.gate(x.mean(dim=(2, 3)))
        return x * g[:, :, None, None]


class MBConvResidual(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x) + x


def mbconv(dim):
    return MBConvResidual(nn.Sequential(
        nn.Conv2d(dim, dim, 1), nn.GELU(), nn.Conv2d(dim, dim, 3, padding=1, groups=dim), nn.GELU(),
        SqueezeExcitation(dim), nn.Conv2d(dim, dim, 1)))


def relative_position_indices(w):
    """[w^2, w^2]: token n = (n // w, n % w); index (dr + w - 1) (2w - 1) + (dc + w - 1)."""
    coords = torch.stack(torch.meshgrid(torch.arange(w), torch.arange(w), indexing='ij')).reshape(2, -1).t()
    rel = coords[:, None, :] - coords[None, :, :] + (w - 1)
    return rel[..., 0] * (2 * w - 1) + rel[..., 1]


class Attention(nn.Module):
    """Multi-head self-attention within each window; input/output [B, X, Y, w, w, C]."""

    def __init__(self, dim, window_size, with_pe):
        super().__init__()
        dim_head = dim // 4
        self.heads = dim // dim_head
        self.scale = dim_head ** -0.5
        self.with_pe = with_pe
        self.to_qkv = nn.Linear(dim, dim * 3, bias=False)
        self.to_out = nn.Sequential(nn.Linear(dim, dim, bias=False))
        if with_pe:
            self.rel_pos_bias = nn.Embedding((2 * window_size - 1) ** 2, self.heads)
            self.register_buffer('rel_pos_indices', relative_position_indices(window_size), persistent=False)

    def forward(self, x):
        b, nx, ny, w1, w2, c = x.shape
        t = x.reshape(b * nx * ny, w1 * w2, c)
        q, k, v = self.to_qkv(t).chunk(3, dim=-1)
        q, k, v = (u.reshape(u.shape[0], u.shape[1], self.heads, -1).transpose(1, 2) for u in (q, k, v))
        q = q * self.scale
        sim = q @ k.transpose(-1, -2)
        if self.with_pe:
            sim = sim + self.rel_pos_bias(self.rel_pos_indices).permute(2, 0, 1)
        out = sim.softmax(dim=-1) @ v
        out = out.transpose(1, 2).reshape(b * nx * ny, w1, w2, c)
        return self.to_out(out).reshape(b, nx, ny, w1, w2, c)


class ChannelAttention(nn.Module):
    """Channel (transposed) attention, 4 heads, over the pixels of each group: `grid` False, each
    w x w window; True, each of the w^2 grids of pixels w apart (the whole image)."""

    def __init__(self, dim, window_size, grid):
        super().__init__()
        self.heads = 4
        self.ps = window_size
        self.grid = grid
        self.temperature = nn.Parameter(torch.ones(self.heads, 1, 1))
        self.qkv = nn.Conv2d(dim, dim * 3, 1, bias=False)
        self.qkv_dwconv = nn.Conv2d(dim * 3, dim * 3, 3, padding=1, groups=dim * 3, bias=False)
        self.project_out = nn.Conv2d(dim, dim, 1, bias=False)

    def split(self, t):
        b, c, h, w = t.shape
        p = self.ps
        t = t.reshape(b, self.heads, c // self.heads, h // p, p, w // p, p)
        if self.grid:  # -> b, (ph pw), head, d, (h w)
            return t.permute(0, 4, 6, 1, 2, 3, 5).reshape(b, p * p, self.heads, c // self.heads, -1)
        return t.permute(0, 3, 5, 1, 2, 4, 6).reshape(b, (h // p) * (w // p), self.heads, c // self.heads, p * p)

    def merge(self, t, h, w):
        b, c, p = t.shape[0], self.heads * t.shape[3], self.ps
        if self.grid:
            t = t.reshape(b, p, p, self.heads, c // self.heads, h // p, w // p).permute(0, 3, 4, 5, 1, 6, 2)
        else:
            t = t.reshape(b, h // p, w // p, self.heads, c // self.heads, p, p).permute(0, 3, 4, 1, 5, 2, 6)
        return t.reshape(b, c, h, w)

    def forward(self, x):
        _, _, h, w = x.shape
        q, k, v = (self.split(t) for t in self.qkv_dwconv(self.qkv(x)).chunk(3, dim=1))
        q = F.normalize(q, dim=-1)
        k = F.normalize(k, dim=-1)
        attn = ((q @ k.transpose(-2, -1)) * self.temperature).softmax(dim=-1)
        return self.project_out(self.merge(attn @ v, h, w))


class Partition(nn.Module):
    """[B, C, H, W] <-> [B, X, Y, w, w, C]: windows (`grid` False) or grids."""

    def __init__(self, w, grid, reverse):
        super().__init__()
        self.w, self.grid, self.reverse = w, grid, reverse

    def forward(self, x):
        w = self.w
        if not self.reverse:
            b, c, h, wd = x.shape
            if self.grid:  # (w1 x) (w2 y)
                return x.reshape(b, c, w, h // w, w, wd // w).permute(0, 3, 5, 2, 4, 1)
            return x.reshape(b, c, h // w, w, wd // w, w).permute(0, 2, 4, 3, 5, 1)
        b, nx, ny, w1, w2, c = x.shape
        if self.grid:
            return x.permute(0, 5, 3, 1, 4, 2).reshape(b, c, w1 * nx, w2 * ny)
        return x.permute(0, 5, 1, 3, 2, 4).reshape(b, c, nx * w1, ny * w2)


class OSABlock(nn.Module):
    def __init__(self, dim, window_size, with_pe):
        super().__init__()
        w = window_size
        self.layer = nn.Sequential(
            mbconv(dim),
            Partition(w, False, False),
            PreNormResidual(dim, Attention(dim, w, with_pe)),
            Partition(w, False, True),
            ConvPreNormResidual(dim, GatedConvFeedForward(dim)),
            ConvPreNormResidual(dim, ChannelAttention(dim, w, grid=False)),
            ConvPreNormResidual(dim, GatedConvFeedForward(dim)),
            Partition(w, True, False),
            PreNormResidual(dim, Attention(dim, w, with_pe)),
            Partition(w, True, True),
            ConvPreNormResidual(dim, GatedConvFeedForward(dim)),
            ConvPreNormResidual(dim, ChannelAttention(dim, w, grid=True)),
            ConvPreNormResidual(dim, GatedConvFeedForward(dim)),
        )

    def forward(self, x):
        return self.layer(x)


class ESA(nn.Module):
    """Enhanced spatial attention as OmniSR has it (no conv_max / conv3_)."""

    def __init__(self, f, n_feats):
        super().__init__()
        self.conv1 = nn.Conv2d(n_feats, f, 1)
        self.conv_f = nn.Conv2d(f, f, 1)
        self.conv2 = nn.Conv2d(f, f, 3, stride=2, padding=0)
        self.conv3 = nn.Conv2d(f, f, 3, padding=1)
        self.conv4 = nn.Conv2d(f, n_feats, 1)

    def forward(self, x):
        c1_ = self.conv1(x)
        c1 = self.conv2(c1_)
        c3 = self.conv3(F.max_pool2d(c1, kernel_size=7, stride=3))
        c3 = F.interpolate(c3, (x.shape[2], x.shape[3]), mode='bilinear', align_corners=False)
        return x * torch.sigmoid(self.conv4(c3 + self.conv_f(c1_)))


class OSAG(nn.Module):
    def __init__(self, dim, bias, block_num, window_size, pe):
        super().__init__()
        layers = [OSABlock(dim, window_size, pe) for _ in range(block_num)]
        layers.append(nn.Conv2d(dim, dim, 1, bias=bias))
        self.residual_layer = nn.Sequential(*layers)
        self.esa = ESA(max(dim // 4, 16), dim)

    def forward(self, x):
        return self.esa(self.residual_layer(x) + x)


class OmniSR(nn.Module):
    def __init__(self, num_in_ch=3, num_out_ch=3, num_feat=64, block_num=1, pe=True, window_size=8, res_num=1,
                 up_scale=4, bias=True):
        super().__init__()
        self.window_size = window_size
        self.up_scale = up_scale
        self.residual_layer = nn.Sequential(*[OSAG(num_feat, bias, block_num, window_size, pe) for _ in range(res_num)])
        self.input = nn.Conv2d(num_in_ch, num_feat, 3, padding=1, bias=bias)
        self.output = nn.Conv2d(num_feat, num_feat, 3, padding=1, bias=bias)
        self.up = nn.Sequential(nn.Conv2d(num_feat, num_out_ch * up_scale ** 2, 3, padding=1, bias=bias),
                                nn.PixelShuffle(up_scale))

    def forward(self, x):
        h, w = x.shape[2:]
        m = self.window_size
        ph, pw = (m - h % m) % m, (m - w % m) % m
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), 'constant', 0.0)
        residual = self.input(x)
        out = self.output(self.residual_layer(residual)) + residual
        return self.up(out)[:, :, :h * self.up_scale, :w * self.up_scale]


if __name__ == '__main__':
    torch.manual_seed(0)
    net = OmniSR(num_feat=16, window_size=4, up_scale=2).eval()
    print(net(torch.rand(1, 3, 19, 23)).shape, sum(p.numel() for p in net.parameters()))
    print(sorted(net.state_dict())[:60])
