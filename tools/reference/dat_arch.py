"""DAT (Dual Aggregation Transformer) in PyTorch: our own re-implementation, for reference outputs.

Facts taken from the published definitions (read, not copied): the paper ("Dual Aggregation
Transformer for Image Super-Resolution", ICCV 2023, arXiv 2308.03364), the authors'
zhengchen1999/DAT `basicsr/archs/dat_arch.py`, and spandrel's
`libs/spandrel/spandrel/architectures/DAT/__init__.py` (detection, hyperparameters) and
`.../DAT/__arch/DAT.py` (layers). State dict names are upstream's.

forward(x): x = (x - mean) * img_range (mean = DIV2K's RGB mean for 3 channels); f = conv_first(x);
  tokens (NHWC here), LayerNorm `before_RG.1`; residual groups `layers.i`; LayerNorm `norm`;
  f = conv_after_body(features) + f ('1conv' 3x3, or '3conv': 3x3 dim -> dim/4, LeakyReLU 0.2, 1x1,
  LeakyReLU 0.2, 3x3 back); 'pixelshuffle' (conv_before_upsample.0 + LeakyReLU 0.01, Upsample,
  conv_last) or 'pixelshuffledirect' (upsample.0: 3x3 to 3 s^2, PixelShuffle); x / img_range + mean.
  No padding of the image: only the spatial attention pads (its q, k, v, with zeros).
Residual group `layers.i`: x + conv(blocks(x)) with conv '1conv' or '3conv' as above.
Block `blocks.j` (even j: spatial DSTB, odd j: channel DCTB):
  x = x + attn(norm1(x)); x = x + ffn(norm2(x)).
  SGFN `ffn`: fc1 (dim -> hidden = int(dim * expansion_factor)), GELU, split the channels in halves
  (a, b); b = depthwise 3x3 `sg.conv`(LayerNorm `sg.norm`(b)); fc2(a * b).
Spatial attention (DSTB): qkv Linear (dim -> 3 dim, bias iff qkv_bias), laid out [q | k | v];
  zero-padded right/bottom to a multiple of max(split_size); channels split in halves: branch 0
  (first half of each of q, k, v) in windows split_size[0] x split_size[1] (rows x cols), branch 1
  in split_size[1] x split_size[0]; each branch heads/2 heads of head_dim = (dim/2) // (heads/2),
  q * head_dim^-0.5 @ k^T + dynamic position bias, (+ shift mask), softmax, @ v; cropped back.
  Shifted blocks (group i even: j > 0 and (j - 2) % 4 == 0; i odd: j % 4 == 0) roll branch 0 by
  -(s0/2, s1/2) and branch 1 by -(s1/2, s0/2) (rows, cols) before, and back after; their mask is
  Swin's 3 x 3 region labelling of the padded image with each branch's window and shift, -100
  between regions (upstream stores it as attn_mask_0/1 for img_size and recomputes it for other
  sizes: the same values).
  Dynamic position bias `attns.k.pos` (residual=False): pos3(pos2(pos1(pos_proj(rpe_biases)))),
  pos_proj Linear(2, pd), posN = LayerNorm(pd), ReLU, Linear(pd, pd) (pos3 to heads/2), with
  pd = ((dim/2) // 4) // 4; rpe_biases = every (dy, dx), dy in (1 - Hs .. Hs - 1) row-major;
  relative_position_index = (dy + Hs - 1) (2 Ws - 1) + dx + Ws - 1 for token pairs (query, key).
  v (unpadded, with its bias) as an image through `dwconv` (depthwise 3x3, BatchNorm, GELU):
  conv_x. channel map = `channel_interaction`(conv_x) (global average, 1x1 dim -> dim//8, BN, GELU,
  1x1 back); spatial map = `spatial_interaction`(attention output as an image) (1x1 dim -> dim//16,
  BN, GELU, 1x1 to 1). out = attention * sigmoid(channel map) + sigmoid(spatial map) * conv_x; proj.
Channel attention (DCTB): qkv as above, per head (dim/heads channels) q, k, v as [d, N] rows;
  q and k L2-normalised along N (eps 1e-12); attention = q @ k^T * temperature[head] ([d, d]),
  softmax, @ v; tokens back (head-major channels). conv_x = dwconv(v as an image, channel
  head * d + j). channel map = channel_interaction(attention output as an image); spatial map =
  spatial_interaction(conv_x). out = attention * sigmoid(spatial map) + conv_x * sigmoid(channel
  map); proj. (The two maps change places against the spatial block.)
Both global: the channel attention spans every token and channel_interaction averages the whole
  image (or tile), so DAT is not tile-exact at any pad.

Needs PyTorch >= 1.13 (Debian: python3-torch, run as /usr/bin/python3).
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

RGB_MEAN = (0.4488, 0.4371, 0.4040)


def is_shifted(group, block):
    if group % 2 == 0:
        return block > 0 and (block - 2) % 4 == 0
    return block % 4 == 0


def rpe_biases(hs, ws):
    dy = torch.arange(1 - hs, hs)
    dx = torch.arange(1 - ws, ws)
    grid = torch.stack(torch.meshgrid(dy, dx, indexing='ij'))
    return grid.flatten(1).t().contiguous().float()


def rpe_index(hs, ws):
    ys, xs = torch.meshgrid(torch.arange(hs), torch.arange(ws), indexing='ij')
    ys, xs = ys.flatten(), xs.flatten()
    dy = ys[:, None] - ys[None, :] + hs - 1
    dx = xs[:, None] - xs[None, :] + ws - 1
    return dy * (2 * ws - 1) + dx


def region_mask(h, w, hs, ws, sh, sw):
    """[nW, N, N] for windows hs x ws over an h x w image rolled by (-sh, -sw)."""
    label = torch.zeros(h, w)
    n = 0
    for rows in (slice(0, -hs), slice(-hs, -sh), slice(-sh, None)):
        for cols in (slice(0, -ws), slice(-ws, -sw), slice(-sw, None)):
            label[rows, cols] = n
            n += 1
    win = label.view(h // hs, hs, w // ws, ws).permute(0, 2, 1, 3).reshape(-1, hs * ws)
    diff = win[:, None, :] - win[:, :, None]
    return torch.where(diff == 0, torch.zeros(()), torch.full((), -100.0))


def to_windows(x, hs, ws):
    """[B, H, W, C] -> [B nW, hs ws, C] (windows row-major, tokens row-major inside)."""
    b, h, w, c = x.shape
    return x.reshape(b, h // hs, hs, w // ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, hs * ws, c)


def from_windows(x, hs, ws, b, h, w):
    c = x.shape[-1]
    return x.reshape(b, h // hs, w // ws, hs, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h, w, c)


def image(x):
    """NHWC -> NCHW."""
    return x.permute(0, 3, 1, 2)


def tokens(x):
    """NCHW -> NHWC."""
    return x.permute(0, 2, 3, 1)


class PosMlp(nn.Module):
    def __init__(self, pd, out):
        super().__init__()
        self.pos_proj = nn.Linear(2, pd)
        self.pos1 = nn.Sequential(nn.LayerNorm(pd), nn.ReLU(), nn.Linear(pd, pd))
        self.pos2 = nn.Sequential(nn.LayerNorm(pd), nn.ReLU(), nn.Linear(pd, pd))
        self.pos3 = nn.Sequential(nn.LayerNorm(pd), nn.ReLU(), nn.Linear(pd, out))

    def forward(self, b):
        return self.pos3(self.pos2(self.pos1(self.pos_proj(b))))


class Branch(nn.Module):
    """One window shape of the spatial attention: the position bias and its buffers."""

    def __init__(self, dim, heads, hs, ws):
        super().__init__()
        self.hs, self.ws, self.heads = hs, ws, heads
        self.scale = (dim // heads) ** -0.5
        self.pos = PosMlp((dim // 4) // 4, heads)
        self.register_buffer('rpe_biases', rpe_biases(hs, ws))
        self.register_buffer('relative_position_index', rpe_index(hs, ws))

    def forward(self, q, k, v, mask):
        """q, k, v: [B, Hp, Wp, C']; mask [nW, N, N] or None -> [B, Hp, Wp, C']."""
        b, hp, wp, c = q.shape
        n = self.hs * self.ws
        d = c // self.heads

        def heads(t):
            return to_windows(t, self.hs, self.ws).reshape(-1, n, self.heads, d).transpose(1, 2)

        q, k, v = heads(q) * self.scale, heads(k), heads(v)
        bias = self.pos(self.rpe_biases)[self.relative_position_index.reshape(-1)].reshape(n, n, -1).permute(2, 0, 1)
        attn = q @ k.transpose(-2, -1) + bias
        if mask is not None:
            nw = mask.shape[0]
            attn = (attn.view(-1, nw, self.heads, n, n) + mask[None, :, None]).view(-1, self.heads, n, n)
        out = (attn.softmax(-1) @ v).transpose(1, 2).reshape(-1, n, c)
        return from_windows(out, self.hs, self.ws, b, hp, wp)


def interaction(dim, hidden, out):
    return nn.Sequential(nn.Conv2d(dim, hidden, 1), nn.BatchNorm2d(hidden), nn.GELU(), nn.Conv2d(hidden, out, 1))


class Mixer(nn.Module):
    """The convolution branch and the two interaction maps both attentions share."""

    def __init__(self, dim):
        super().__init__()
        self.dwconv = nn.Sequential(nn.Conv2d(dim, dim, 3, 1, 1, groups=dim), nn.BatchNorm2d(dim), nn.GELU())
        self.channel_interaction = nn.Sequential(nn.AdaptiveAvgPool2d(1), *interaction(dim, dim // 8, dim))
        self.spatial_interaction = interaction(dim, dim // 16, 1)


class SpatialAttention(Mixer):
    def __init__(self, dim, heads, split, group, block, qkv_bias, img_size=None):
        super().__init__(dim)
        self.split = split
        self.shifted = is_shifted(group, block)
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        s0, s1 = split
        self.attns = nn.ModuleList([Branch(dim // 2, heads // 2, s0, s1), Branch(dim // 2, heads // 2, s1, s0)])
        if self.shifted and img_size is not None:
            self.register_buffer('attn_mask_0', region_mask(img_size, img_size, s0, s1, s0 // 2, s1 // 2))
            self.register_buffer('attn_mask_1', region_mask(img_size, img_size, s1, s0, s1 // 2, s0 // 2))

    def forward(self, x):
        b, h, w, c = x.shape
        qkv = self.qkv(x)
        v_image = image(qkv[..., 2 * c:])
        m = max(self.split)
        ph, pw = (m - h % m) % m, (m - w % m) % m
        padded = F.pad(qkv, (0, 0, 0, pw, 0, ph))
        hp, wp = h + ph, w + pw
        s0, s1 = self.split
        halves = []
        for k, (branch, (sh, sw)) in enumerate(zip(self.attns, ((s0 // 2, s1 // 2), (s1 // 2, s0 // 2)))):
            part = padded.view(b, hp, wp, 3, 2, c // 2)[:, :, :, :, k]
            mask = None
            if self.shifted:
                part = torch.roll(part, shifts=(-sh, -sw), dims=(1, 2))
                mask = region_mask(hp, wp, branch.hs, branch.ws, sh, sw)
            out = branch(part[:, :, :, 0], part[:, :, :, 1], part[:, :, :, 2], mask)
            if self.shifted:
                out = torch.roll(out, shifts=(sh, sw), dims=(1, 2))
            halves.append(out[:, :h, :w])
        attended = torch.cat(halves, dim=-1)
        conv_x = self.dwconv(v_image)
        channel_map = tokens(self.channel_interaction(conv_x))
        spatial_map = self.spatial_interaction(image(attended))
        return self.proj(attended * torch.sigmoid(channel_map) + tokens(torch.sigmoid(spatial_map) * conv_x))


class ChannelAttention(Mixer):
    def __init__(self, dim, heads, qkv_bias):
        super().__init__(dim)
        self.heads = heads
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, h, w, c = x.shape
        d = c // self.heads
        q, k, v = self.qkv(x).reshape(b, h * w, 3, self.heads, d).permute(2, 0, 3, 4, 1)  # 3 x [B, heads, d, N]
        q = F.normalize(q, dim=-1)
        k = F.normalize(k, dim=-1)
        attn = (q @ k.transpose(-2, -1) * self.temperature).softmax(-1)
        attended = (attn @ v).permute(0, 3, 1, 2).reshape(b, h, w, c)
        conv_x = self.dwconv(v.reshape(b, c, h, w))
        channel_map = tokens(self.channel_interaction(image(attended)))
        spatial_map = tokens(self.spatial_interaction(conv_x))
        return self.proj(attended * torch.sigmoid(spatial_map) + tokens(conv_x) * torch.sigmoid(channel_map))


class SpatialGate(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.conv = nn.Conv2d(dim, dim, 3, 1, 1, groups=dim)

    def forward(self, x):
        a, b = x.chunk(2, dim=-1)
        return a * tokens(self.conv(image(self.norm(b))))


class SGFN(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.sg = SpatialGate(hidden // 2)
        self.fc2 = nn.Linear(hidden // 2, dim)

    def forward(self, x):
        return self.fc2(self.sg(F.gelu(self.fc1(x))))


class Block(nn.Module):
    def __init__(self, dim, heads, split, expansion, qkv_bias, group, block, img_size):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        if block % 2 == 0:
            self.attn = SpatialAttention(dim, heads, split, group, block, qkv_bias, img_size)
        else:
            self.attn = ChannelAttention(dim, heads, qkv_bias)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = SGFN(dim, int(dim * expansion))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))


def resi_conv(dim, kind):
    if kind == '1conv':
        return nn.Conv2d(dim, dim, 3, 1, 1)
    if kind == '3conv':
        return nn.Sequential(nn.Conv2d(dim, dim // 4, 3, 1, 1), nn.LeakyReLU(0.2), nn.Conv2d(dim // 4, dim // 4, 1),
                             nn.LeakyReLU(0.2), nn.Conv2d(dim // 4, dim, 3, 1, 1))
    raise ValueError(f'resi_connection {kind}')


class Group(nn.Module):
    def __init__(self, dim, depth, heads, split, expansion, qkv_bias, resi, group, img_size):
        super().__init__()
        self.blocks = nn.ModuleList(Block(dim, heads, split, expansion, qkv_bias, group, j, img_size)
                                    for j in range(depth))
        self.conv = resi_conv(dim, resi)

    def forward(self, x):
        y = x
        for blk in self.blocks:
            y = blk(y)
        return x + tokens(self.conv(image(y)))


class DAT(nn.Module):
    def __init__(self, in_chans=3, embed_dim=180, split_size=(2, 4), depth=(2, 2, 2, 2), num_heads=(2, 2, 2, 2),
                 expansion_factor=4.0, qkv_bias=True, upscale=2, img_range=1.0, resi_connection='1conv',
                 upsampler='pixelshuffle', num_feat=64, img_size=64, store_masks=True):
        super().__init__()
        if split_size[1] % split_size[0] and split_size[0] % split_size[1]:
            raise ValueError('one split size must divide the other')
        self.img_range = img_range
        self.upscale = upscale
        self.upsampler = upsampler
        mean = RGB_MEAN if in_chans == 3 else (0.0,) * in_chans
        self.register_buffer('mean', torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.conv_first = nn.Conv2d(in_chans, embed_dim, 3, 1, 1)
        self.before_RG = nn.Sequential(nn.Identity(), nn.LayerNorm(embed_dim))
        self.layers = nn.ModuleList(
            Group(embed_dim, d, num_heads[i], list(split_size), expansion_factor, qkv_bias, resi_connection, i,
                  img_size if store_masks else None)
            for i, d in enumerate(depth))
        self.norm = nn.LayerNorm(embed_dim)
        self.conv_after_body = resi_conv(embed_dim, resi_connection)
        if upsampler == 'pixelshuffle':
            self.conv_before_upsample = nn.Sequential(nn.Conv2d(embed_dim, num_feat, 3, 1, 1), nn.LeakyReLU())
            ups = []
            if upscale == 3:
                ups += [nn.Conv2d(num_feat, 9 * num_feat, 3, 1, 1), nn.PixelShuffle(3)]
            elif upscale & (upscale - 1) == 0:
                for _ in range(int(math.log2(upscale))):
                    ups += [nn.Conv2d(num_feat, 4 * num_feat, 3, 1, 1), nn.PixelShuffle(2)]
            else:
                raise ValueError(f'scale {upscale}')
            self.upsample = nn.Sequential(*ups)
            self.conv_last = nn.Conv2d(num_feat, in_chans, 3, 1, 1)
        elif upsampler == 'pixelshuffledirect':
            self.upsample = nn.Sequential(nn.Conv2d(embed_dim, upscale ** 2 * in_chans, 3, 1, 1),
                                          nn.PixelShuffle(upscale))
        else:
            raise ValueError(f'upsampler {upsampler}')

    def forward(self, x):
        x = (x - self.mean) * self.img_range
        f = self.conv_first(x)
        t = self.before_RG[1](tokens(f))
        for layer in self.layers:
            t = layer(t)
        f = self.conv_after_body(image(self.norm(t))) + f
        if self.upsampler == 'pixelshuffle':
            out = self.conv_last(self.upsample(self.conv_before_upsample(f)))
        else:
            out = self.upsample(f)
        return out / self.img_range + self.mean
