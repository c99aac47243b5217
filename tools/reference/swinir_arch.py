"""SwinIR in PyTorch: our own re-implementation, for reference outputs.

Facts taken from the published definitions (read, not copied): the paper ("SwinIR: Image
Restoration Using Swin Transformer", arXiv 2108.10257), the authors' JingyunLiang/SwinIR
`models/network_swinir.py`, and spandrel's `libs/spandrel/spandrel/architectures/SwinIR/__init__.py`
(detection, hyperparameters) and `.../SwinIR/__arch/SwinIR.py` (layers).

forward(x): pad right/bottom (reflect) to a multiple of window_size; x = (x - mean) * img_range
  (mean = (0.4488, 0.4371, 0.4040) for 3 channels); f = conv_first(x) (3x3);
  f = conv_after_body(forward_features(f)) + f; the upsampler; x / img_range + mean; crop to
  H * upscale, W * upscale.
forward_features: tokens = flatten(2).transpose(1, 2) (patch_embed; LayerNorm `patch_embed.norm`
  when patch_norm), RSTBs `layers.i`, LayerNorm `norm`, back to B C H W (patch_unembed).
RSTB: tokens + patch_embed(conv(patch_unembed(residual_group(tokens)))); `conv` is one 3x3
  ('1conv') or 3x3 (dim -> dim/4), LeakyReLU 0.2, 1x1, LeakyReLU 0.2, 3x3 (dim/4 -> dim) ('3conv').
Swin block `residual_group.blocks.j` (shift window_size // 2 on odd j, unless the training
  img_size <= window_size): y = norm1(x); roll by -shift on H and W; window partition; window
  attention (qkv Linear, heads, q * head_dim^-0.5, q k^T + relative position bias
  table[index] (+ the shift mask, -100 between regions of the rolled image), softmax, @ v,
  proj Linear); window reverse; roll by +shift; x = x + y; x = x + fc2(GELU(fc1(norm2(x)))).
  The mask is computed for the (padded) size being run (`calculate_mask`); the `attn_mask` buffer
  in a state dict is the one for the training img_size.
Upsamplers: 'pixelshuffle' (classical): conv_before_upsample = 3x3 (embed -> num_feat) +
  LeakyReLU (slope 0.01, nn.LeakyReLU's default), `upsample` = (3x3 nf -> 4 nf, PixelShuffle 2)
  per factor 2 (or 3x3 nf -> 9 nf, PixelShuffle 3), conv_last 3x3 (nf -> out).
  'pixelshuffledirect' (lightweight): upsample.0 = 3x3 (embed -> s^2 out), PixelShuffle s.
  'nearest+conv' (real-SR): conv_before_upsample (+ LeakyReLU 0.01), then per factor 2 nearest x2
  and conv_up1/2/3 + LeakyReLU 0.2, conv_hr + LeakyReLU 0.2, conv_last.
num_feat is 64 upstream; here it is a parameter (the fixtures use 16 to stay small: the key names
and layouts are the published ones, superres reads num_feat from the tensors).

Needs PyTorch >= 1.13 (Debian: python3-torch, run as /usr/bin/python3).
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

RGB_MEAN = (0.4488, 0.4371, 0.4040)


def window_partition(x, ws):
    """B H W C -> (B * nH * nW) ws ws C, windows in row-major order of the grid."""
    b, h, w, c = x.shape
    x = x.view(b, h // ws, ws, w // ws, ws, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, ws, ws, c)


def window_reverse(windows, ws, h, w):
    b = windows.shape[0] // ((h // ws) * (w // ws))
    x = windows.reshape(b, h // ws, w // ws, ws, ws, -1).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, h, w, -1)


def relative_position_index(ws):
    """[ws^2, ws^2]: for query i and key j (row-major in the window), (dy + ws - 1) * (2 ws - 1) + dx + ws - 1."""
    coords = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing='ij')).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
    return (rel[:, :, 0] + ws - 1) * (2 * ws - 1) + rel[:, :, 1] + ws - 1


def shift_mask(h, w, ws, shift):
    """[nW, N, N]: 0 where query and key come from the same region of the rolled image, -100 elsewhere."""
    img = torch.zeros(1, h, w, 1)
    cnt = 0
    for hs in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
        for wsl in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
            img[:, hs, wsl, :] = cnt
            cnt += 1
    windows = window_partition(img, ws).reshape(-1, ws * ws)
    diff = windows.unsqueeze(1) - windows.unsqueeze(2)
    return diff.masked_fill(diff != 0, -100.0).masked_fill(diff == 0, 0.0)


class WindowAttention(nn.Module):
    def __init__(self, dim, ws, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * ws - 1) ** 2, heads))
        self.register_buffer('relative_position_index', relative_position_index(ws))
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask=None):
        b_, n, c = x.shape
        qkv = self.qkv(x).reshape(b_, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = q @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(n, n, -1)
        attn = attn + bias.permute(2, 0, 1).unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            attn = (attn.view(b_ // nw, nw, self.heads, n, n) + mask.unsqueeze(1).unsqueeze(0)).view(-1, self.heads, n, n)
        attn = attn.softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b_, n, c))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class SwinBlock(nn.Module):
    def __init__(self, dim, heads, ws, shift, mlp_ratio, img_size):
        super().__init__()
        if img_size <= ws:
            shift, ws = 0, img_size
        self.ws, self.shift = ws, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, ws, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.register_buffer('attn_mask', shift_mask(img_size, img_size, ws, shift) if shift > 0 else None)

    def forward(self, x, size):
        h, w = size
        b, _, c = x.shape
        y = self.norm1(x).view(b, h, w, c)
        if self.shift > 0:
            y = torch.roll(y, shifts=(-self.shift, -self.shift), dims=(1, 2))
        windows = window_partition(y, self.ws).reshape(-1, self.ws * self.ws, c)
        mask = shift_mask(h, w, self.ws, self.shift).to(x.dtype) if self.shift > 0 else None
        y = window_reverse(self.attn(windows, mask).reshape(-1, self.ws, self.ws, c), self.ws, h, w)
        if self.shift > 0:
            y = torch.roll(y, shifts=(self.shift, self.shift), dims=(1, 2))
        x = x + y.reshape(b, h * w, c)
        return x + self.mlp(self.norm2(x))


class BasicLayer(nn.Module):
    def __init__(self, dim, depth, heads, ws, mlp_ratio, img_size):
        super().__init__()
        self.blocks = nn.ModuleList(
            [SwinBlock(dim, heads, ws, 0 if j % 2 == 0 else ws // 2, mlp_ratio, img_size) for j in range(depth)])

    def forward(self, x, size):
        for block in self.blocks:
            x = block(x, size)
        return x


def resi_conv(dim, kind):
    if kind == '1conv':
        return nn.Conv2d(dim, dim, 3, 1, 1)
    return nn.Sequential(nn.Conv2d(dim, dim // 4, 3, 1, 1), nn.LeakyReLU(0.2), nn.Conv2d(dim // 4, dim // 4, 1, 1, 0),
                         nn.LeakyReLU(0.2), nn.Conv2d(dim // 4, dim, 3, 1, 1))


def to_image(tokens, size):
    b, _, c = tokens.shape
    return tokens.transpose(1, 2).reshape(b, c, size[0], size[1])


class RSTB(nn.Module):
    def __init__(self, dim, depth, heads, ws, mlp_ratio, img_size, resi_connection):
        super().__init__()
        self.residual_group = BasicLayer(dim, depth, heads, ws, mlp_ratio, img_size)
        self.conv = resi_conv(dim, resi_connection)

    def forward(self, x, size):
        return self.conv(to_image(self.residual_group(x, size), size)).flatten(2).transpose(1, 2) + x


class PatchEmbed(nn.Module):
    def __init__(self, dim, patch_norm):
        super().__init__()
        self.norm = nn.LayerNorm(dim) if patch_norm else None

    def forward(self, x):
        x = x.flatten(2).transpose(1, 2)
        return self.norm(x) if self.norm is not None else x


class SwinIR(nn.Module):
    def __init__(self, img_size=64, in_chans=3, embed_dim=96, depths=(6, 6, 6, 6), num_heads=(6, 6, 6, 6),
                 window_size=7, mlp_ratio=4.0, upscale=2, img_range=1.0, upsampler='pixelshuffle',
                 resi_connection='1conv', num_feat=64, patch_norm=True):
        super().__init__()
        self.window_size, self.upscale, self.img_range, self.upsampler = window_size, upscale, img_range, upsampler
        self.mean = torch.tensor(RGB_MEAN).view(1, 3, 1, 1) if in_chans == 3 else torch.zeros(1, 1, 1, 1)
        self.conv_first = nn.Conv2d(in_chans, embed_dim, 3, 1, 1)
        self.patch_embed = PatchEmbed(embed_dim, patch_norm)
        self.layers = nn.ModuleList([RSTB(embed_dim, d, h, window_size, mlp_ratio, img_size, resi_connection)
                                     for d, h in zip(depths, num_heads)])
        self.norm = nn.LayerNorm(embed_dim)
        self.conv_after_body = resi_conv(embed_dim, resi_connection)
        if upsampler == 'pixelshuffle':
            self.conv_before_upsample = nn.Sequential(nn.Conv2d(embed_dim, num_feat, 3, 1, 1), nn.LeakyReLU())
            steps = []
            if upscale & (upscale - 1) == 0:
                for _ in range(int(math.log2(upscale))):
                    steps += [nn.Conv2d(num_feat, 4 * num_feat, 3, 1, 1), nn.PixelShuffle(2)]
            else:
                steps += [nn.Conv2d(num_feat, 9 * num_feat, 3, 1, 1), nn.PixelShuffle(3)]
            self.upsample = nn.Sequential(*steps)
            self.conv_last = nn.Conv2d(num_feat, in_chans, 3, 1, 1)
        elif upsampler == 'pixelshuffledirect':
            self.upsample = nn.Sequential(nn.Conv2d(embed_dim, upscale ** 2 * in_chans, 3, 1, 1), nn.PixelShuffle(upscale))
        elif upsampler == 'nearest+conv':
            self.conv_before_upsample = nn.Sequential(nn.Conv2d(embed_dim, num_feat, 3, 1, 1), nn.LeakyReLU())
            self.n_up = int(math.log2(upscale))
            for i in range(self.n_up):
                setattr(self, f'conv_up{i + 1}', nn.Conv2d(num_feat, num_feat, 3, 1, 1))
            self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
            self.conv_last = nn.Conv2d(num_feat, in_chans, 3, 1, 1)
        else:
            raise ValueError(f'upsampler {upsampler!r} is not supported here (superres refuses such checkpoints)')

    def forward_features(self, x):
        size = (x.shape[2], x.shape[3])
        t = self.patch_embed(x)
        for layer in self.layers:
            t = layer(t, size)
        return to_image(self.norm(t), size)

    def forward(self, x):
        h, w = x.shape[2:]
        ws = self.window_size
        x = F.pad(x, (0, (ws - w % ws) % ws, 0, (ws - h % ws) % ws), 'reflect')
        mean = self.mean.type_as(x)
        x = (x - mean) * self.img_range
        f = self.conv_first(x)
        f = self.conv_after_body(self.forward_features(f)) + f
        if self.upsampler == 'pixelshuffle':
            x = self.conv_last(self.upsample(self.conv_before_upsample(f)))
        elif self.upsampler == 'pixelshuffledirect':
            x = self.upsample(f)
        else:
            x = self.conv_before_upsample(f)
            for i in range(self.n_up):
                x = F.leaky_relu(getattr(self, f'conv_up{i + 1}')(F.interpolate(x, scale_factor=2, mode='nearest')), 0.2)
            x = self.conv_last(F.leaky_relu(self.conv_hr(x), 0.2))
        x = x / self.img_range + mean
        return x[:, :, :h * self.upscale, :w * self.upscale]
