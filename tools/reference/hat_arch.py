"""HAT (Hybrid Attention Transformer) in PyTorch: our own re-implementation, for reference outputs.

Facts taken from the published definitions (read, not copied): the paper ("Activating More Pixels in
Image Super-Resolution Transformer", arXiv 2205.04437), the authors' XPixelGroup/HAT
`hat/archs/hat_arch.py`, and spandrel's `libs/spandrel/spandrel/architectures/HAT/__init__.py`
(detection, hyperparameters) and `.../HAT/__arch/HAT.py` (layers). Builds on swinir_arch.py.

forward(x): pad right/bottom (reflect) to a multiple of window_size (spandrel's check_image_size);
  x = (x - mean) * img_range; f = conv_first(x); f = conv_after_body(forward_features(f)) + f;
  'pixelshuffle' upsampler (as SwinIR's classical one); x / img_range + mean; crop.
forward_features: tokens, LayerNorm `patch_embed.norm` (patch_norm), RHAGs `layers.i`, `norm`.
  The buffers `relative_position_index_SA` ([ws^2, ws^2], SwinIR's index) and
  `relative_position_index_OCA` ([ws^2, ows^2]) live at the top level; the shift mask is computed
  for the size being run (no attn_mask buffer).
RHAG `layers.i`: tokens + patch_embed(conv(patch_unembed(residual_group(tokens)))), conv '1conv'
  (3x3) or 'identity' (upstream HAT's two options; spandrel reads 'identity' when conv_after_body
  has no weight; '3conv' is SwinIR's only, kept here but not released for HAT); residual_group = HABs `residual_group.blocks.j` then one OCAB
  `residual_group.overlap_attn`.
HAB: shortcut = x; y = norm1(x) (as an image); conv_x = CAB(y) (`conv_block.cab`: 3x3 dim ->
  dim / compress_ratio, GELU, 3x3 back to dim, channel attention `cab.3.attention` = global average
  pool, 1x1 dim -> dim / squeeze_factor, ReLU, 1x1 back, sigmoid, times its input); y as SwinIR's
  (shifted on odd j) window attention (bias from the shared index); x = shortcut + y + conv_scale *
  conv_x; x = x + fc2(GELU(fc1(norm2(x)))). A block does not shift when img_size <= window_size.
OCAB: ows = window_size + int(overlap_ratio * window_size); y = norm1(x); qkv Linear (dim -> 3 dim);
  q in non-overlapping ws windows; k and v in ows x ows windows, stride ws, zero padding
  (ows - ws) / 2 (nn.Unfold); per-head attention q * head_dim^-0.5 @ k^T + table[index_OCA], where
  table is [(ws + ows - 1)^2, heads]; softmax; @ v; windows back; x = proj(y) + x;
  x = x + fc2(GELU(fc1(norm2(x)))) (hidden int(dim * mlp_ratio)).
  Upstream's OCA index is (dy + ws - ows + 1) * (ws + ows - 1) + dx + ws - ows + 1 with
  (dy, dx) = key - query; it goes negative, and PyTorch's indexing wraps those (index + table size):
  `oca_index` returns upstream's raw values, the lookup wraps as PyTorch does.

Needs PyTorch >= 1.13 (Debian: python3-torch, run as /usr/bin/python3).
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

from swinir_arch import Mlp, RGB_MEAN, relative_position_index, resi_conv, shift_mask, to_image, window_partition, \
    window_reverse


def oca_index(ws, ows):
    """[ws^2, ows^2], upstream's raw values (some negative)."""
    ori = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing='ij')).flatten(1)
    ext = torch.stack(torch.meshgrid(torch.arange(ows), torch.arange(ows), indexing='ij')).flatten(1)
    rel = (ext[:, None, :] - ori[:, :, None]).permute(1, 2, 0)
    return (rel[:, :, 0] + ws - ows + 1) * (ws + ows - 1) + rel[:, :, 1] + ws - ows + 1


class ChannelAttention(nn.Module):
    def __init__(self, dim, squeeze):
        super().__init__()
        self.attention = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(dim, dim // squeeze, 1), nn.ReLU(),
                                       nn.Conv2d(dim // squeeze, dim, 1), nn.Sigmoid())

    def forward(self, x):
        return x * self.attention(x)


class CAB(nn.Module):
    def __init__(self, dim, compress, squeeze):
        super().__init__()
        self.cab = nn.Sequential(nn.Conv2d(dim, dim // compress, 3, 1, 1), nn.GELU(),
                                 nn.Conv2d(dim // compress, dim, 3, 1, 1), ChannelAttention(dim, squeeze))

    def forward(self, x):
        return self.cab(x)


class WindowAttention(nn.Module):
    """SwinIR's, with the index passed in (HAT keeps one shared buffer)."""

    def __init__(self, dim, ws, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * ws - 1) ** 2, heads))
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, rpi, mask=None):
        b_, n, c = x.shape
        qkv = self.qkv(x).reshape(b_, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = q @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[rpi.view(-1)].view(n, n, -1)
        attn = attn + bias.permute(2, 0, 1).unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            attn = (attn.view(b_ // nw, nw, self.heads, n, n) + mask.unsqueeze(1).unsqueeze(0)).view(-1, self.heads, n, n)
        attn = attn.softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b_, n, c))


class HAB(nn.Module):
    def __init__(self, dim, heads, ws, shift, mlp_ratio, img_size, compress, squeeze, conv_scale):
        super().__init__()
        if img_size <= ws:
            shift, ws = 0, img_size
        self.ws, self.shift, self.conv_scale = ws, shift, conv_scale
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, ws, heads)
        self.conv_block = CAB(dim, compress, squeeze)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x, size, rpi):
        h, w = size
        b, _, c = x.shape
        y = self.norm1(x).view(b, h, w, c)
        conv_x = self.conv_block(y.permute(0, 3, 1, 2)).permute(0, 2, 3, 1).reshape(b, h * w, c)
        if self.shift > 0:
            y = torch.roll(y, shifts=(-self.shift, -self.shift), dims=(1, 2))
        windows = window_partition(y, self.ws).reshape(-1, self.ws * self.ws, c)
        mask = shift_mask(h, w, self.ws, self.shift).to(x.dtype) if self.shift > 0 else None
        y = window_reverse(self.attn(windows, rpi, mask).reshape(-1, self.ws, self.ws, c), self.ws, h, w)
        if self.shift > 0:
            y = torch.roll(y, shifts=(self.shift, self.shift), dims=(1, 2))
        x = x + y.reshape(b, h * w, c) + conv_x * self.conv_scale
        return x + self.mlp(self.norm2(x))


class OCAB(nn.Module):
    def __init__(self, dim, ws, overlap_ratio, heads, mlp_ratio):
        super().__init__()
        self.dim, self.ws, self.heads = dim, ws, heads
        self.ows = int(ws * overlap_ratio) + ws
        self.scale = (dim // heads) ** -0.5
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((ws + self.ows - 1) ** 2, heads))
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x, size, rpi):
        h, w = size
        b, _, c = x.shape
        ws, ows, heads, d = self.ws, self.ows, self.heads, c // self.heads
        y = self.norm1(x).view(b, h, w, c)
        qkv = self.qkv(y).reshape(b, h, w, 3, c).permute(3, 0, 4, 1, 2)  # 3 b c h w
        q = window_partition(qkv[0].permute(0, 2, 3, 1), ws).reshape(-1, ws * ws, c)
        kv = F.unfold(torch.cat((qkv[1], qkv[2]), dim=1), kernel_size=ows, stride=ws, padding=(ows - ws) // 2)
        nw = kv.shape[-1]
        # b (2 c ows ows) nw -> 2 (b nw) (ows ows) c
        kv = kv.view(b, 2, c, ows * ows, nw).permute(1, 0, 4, 3, 2).reshape(2, b * nw, ows * ows, c)
        k, v = kv[0], kv[1]
        bn = q.shape[0]
        q = q.reshape(bn, ws * ws, heads, d).permute(0, 2, 1, 3) * self.scale
        k = k.reshape(bn, ows * ows, heads, d).permute(0, 2, 1, 3)
        v = v.reshape(bn, ows * ows, heads, d).permute(0, 2, 1, 3)
        attn = q @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[rpi.view(-1)].view(ws * ws, ows * ows, -1).permute(2, 0, 1)
        attn = (attn + bias.unsqueeze(0)).softmax(dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(bn, ws, ws, c)
        y = window_reverse(out, ws, h, w).reshape(b, h * w, c)
        x = self.proj(y) + x
        return x + self.mlp(self.norm2(x))


class AttenBlocks(nn.Module):
    def __init__(self, dim, depth, heads, ws, mlp_ratio, img_size, compress, squeeze, conv_scale, overlap_ratio):
        super().__init__()
        self.blocks = nn.ModuleList([HAB(dim, heads, ws, 0 if j % 2 == 0 else ws // 2, mlp_ratio, img_size, compress,
                                         squeeze, conv_scale) for j in range(depth)])
        self.overlap_attn = OCAB(dim, ws, overlap_ratio, heads, mlp_ratio)

    def forward(self, x, size, rpi_sa, rpi_oca):
        for block in self.blocks:
            x = block(x, size, rpi_sa)
        return self.overlap_attn(x, size, rpi_oca)


class RHAG(nn.Module):
    def __init__(self, dim, depth, heads, ws, mlp_ratio, img_size, compress, squeeze, conv_scale, overlap_ratio,
                 resi_connection):
        super().__init__()
        self.residual_group = AttenBlocks(dim, depth, heads, ws, mlp_ratio, img_size, compress, squeeze, conv_scale,
                                          overlap_ratio)
        self.conv = nn.Identity() if resi_connection == 'identity' else resi_conv(dim, resi_connection)

    def forward(self, x, size, rpi_sa, rpi_oca):
        return self.conv(to_image(self.residual_group(x, size, rpi_sa, rpi_oca), size)).flatten(2).transpose(1, 2) + x


class PatchEmbed(nn.Module):
    def __init__(self, dim, patch_norm):
        super().__init__()
        self.norm = nn.LayerNorm(dim) if patch_norm else None

    def forward(self, x):
        x = x.flatten(2).transpose(1, 2)
        return self.norm(x) if self.norm is not None else x


class HAT(nn.Module):
    def __init__(self, img_size=64, in_chans=3, embed_dim=96, depths=(6, 6, 6, 6), num_heads=(6, 6, 6, 6),
                 window_size=7, compress_ratio=3, squeeze_factor=30, conv_scale=0.01, overlap_ratio=0.5,
                 mlp_ratio=4.0, upscale=2, img_range=1.0, upsampler='pixelshuffle', resi_connection='1conv',
                 num_feat=64, patch_norm=True):
        super().__init__()
        if upsampler != 'pixelshuffle':
            raise ValueError(f'upsampler {upsampler!r} is not supported here (superres refuses such checkpoints)')
        self.window_size, self.upscale, self.img_range, self.upsampler = window_size, upscale, img_range, upsampler
        self.mean = torch.tensor(RGB_MEAN).view(1, 3, 1, 1) if in_chans == 3 else torch.zeros(1, 1, 1, 1)
        ows = int(window_size * overlap_ratio) + window_size
        self.register_buffer('relative_position_index_SA', relative_position_index(window_size))
        self.register_buffer('relative_position_index_OCA', oca_index(window_size, ows))
        self.conv_first = nn.Conv2d(in_chans, embed_dim, 3, 1, 1)
        self.patch_embed = PatchEmbed(embed_dim, patch_norm)
        self.layers = nn.ModuleList([
            RHAG(embed_dim, d, h, window_size, mlp_ratio, img_size, compress_ratio, squeeze_factor, conv_scale,
                 overlap_ratio, resi_connection) for d, h in zip(depths, num_heads)])
        self.norm = nn.LayerNorm(embed_dim)
        self.conv_after_body = nn.Identity() if resi_connection == 'identity' else resi_conv(embed_dim, resi_connection)
        self.conv_before_upsample = nn.Sequential(nn.Conv2d(embed_dim, num_feat, 3, 1, 1), nn.LeakyReLU())
        steps = []
        if upscale & (upscale - 1) == 0:
            for _ in range(int(math.log2(upscale))):
                steps += [nn.Conv2d(num_feat, 4 * num_feat, 3, 1, 1), nn.PixelShuffle(2)]
        else:
            steps += [nn.Conv2d(num_feat, 9 * num_feat, 3, 1, 1), nn.PixelShuffle(3)]
        self.upsample = nn.Sequential(*steps)
        self.conv_last = nn.Conv2d(num_feat, in_chans, 3, 1, 1)

    def forward_features(self, x):
        size = (x.shape[2], x.shape[3])
        t = self.patch_embed(x)
        for layer in self.layers:
            t = layer(t, size, self.relative_position_index_SA, self.relative_position_index_OCA)
        return to_image(self.norm(t), size)

    def forward(self, x):
        h, w = x.shape[2:]
        ws = self.window_size
        x = F.pad(x, (0, (ws - w % ws) % ws, 0, (ws - h % ws) % ws), 'reflect')
        mean = self.mean.type_as(x)
        x = (x - mean) * self.img_range
        f = self.conv_first(x)
        f = self.conv_after_body(self.forward_features(f)) + f
        x = self.conv_last(self.upsample(self.conv_before_upsample(f)))
        x = x / self.img_range + mean
        return x[:, :, :h * self.upscale, :w * self.upscale]
