"""PLKSR and RealPLKSR in PyTorch: our own re-implementations, for reference outputs.

Facts taken from the published definitions (read, not copied):

- the authors' PLKSR, dslisleedh/PLKSR `plksr/archs/plksr_arch.py` (paper: "Partial Large Kernel
  CNNs for Efficient Super-Resolution", arXiv 2404.11848), and spandrel's copies
  `libs/spandrel/spandrel/architectures/PLKSR/__arch/PLKSR.py` and `.../RealPLKSR.py`
  (RealPLKSR comes from neosr; spandrel's `PLKSR/__init__.py` says how it is detected).

PLKSR:   feats = Sequential(conv3x3(3 -> dim), PLKBlock x n_blocks, conv3x3(dim -> 3 s^2))
         out = pixel_shuffle(feats(x) + repeat_interleave(x, s^2, dim=1), s)
PLKBlock (attribute names are the state-dict keys; `channe_mixer` is upstream's spelling):
         y = channe_mixer(x)   CCM:  conv3x3(dim -> 2 dim), GELU, conv1x1(2 dim -> dim)
                               ICCM: conv1x1(dim -> 2 dim), GELU, conv3x3(2 dim -> dim)
                               DCCM: conv3x3(dim -> 2 dim), GELU, conv3x3(2 dim -> dim)
         y = lk(y)             the first pdim = int(dim * split_ratio) channels replaced by a
                               kernel_size x kernel_size conv of them (PLK, `lk.conv`), or by the
                               sum of (k, k//3), (k//3, k) and (k//3, k//3) convs (RectSparsePLK,
                               `lk.mn_conv`, `lk.nm_conv`, `lk.nn_conv`); the rest pass through
         y = y * sigmoid(conv3x3(y))   element-wise attention `attn.f.0` (when use_ea)
         out = refine(y) + x   conv1x1
RealPLKSR: feats = Sequential(conv3x3(3 -> dim), RealPLKBlock x n_blocks, Dropout2d (identity at
         eval: index n_blocks + 1 holds no tensor), conv3x3(dim -> 3 s^2)), the same global skip
         and pixel shuffle (or DySample, which this reference leaves out: superres refuses those files).
RealPLKBlock: y = layer_norm(x) (only with layer_norm: per pixel over channels, eps 1e-6, biased
         variance, weight/bias per channel), `channel_mixer` = conv3x3(dim -> 2 dim), Mish,
         conv3x3(2 dim -> dim), lk (PLK), attn (when use_ea), refine (conv1x1),
         `norm` = GroupNorm(norm_groups, dim) (eps 1e-5) when not layer_norm, out = y + x.

Not covered: SparsePLK (its kernel sizes and dilations are not recoverable from the tensors),
with_idt (an identity added to the large kernel during training; the authors' convert() folds it
into the weights, and the flag is not recorded in a state dict).

Needs PyTorch >= 1.13 (Debian: python3-torch, run as /usr/bin/python3).
"""

import torch
from torch import nn
from torch.nn import functional as F

CCM_KERNELS = {'CCM': (3, 1), 'ICCM': (1, 3), 'DCCM': (3, 3)}


def conv(cin, cout, kernel, bias=True):
    """A stride-1 conv with 'same' zero padding (kernel may be (kh, kw), odd sizes)."""
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    return nn.Conv2d(cin, cout, (kh, kw), 1, (kh // 2, kw // 2), bias=bias)


class ChannelMixer(nn.Sequential):
    """conv (dim -> 2 dim), activation, conv (2 dim -> dim); indices 0 and 2 hold the tensors."""

    def __init__(self, dim, kernels, activation):
        super().__init__(conv(dim, 2 * dim, kernels[0]), activation, conv(2 * dim, dim, kernels[1]))


class PartialLargeKernel(nn.Module):
    """Replaces the first `pdim` channels by a large-kernel conv of them (PLK), or by the sum of
    three rectangular convs (RectSparsePLK); the other channels are left as they are."""

    def __init__(self, pdim, kernel_size, lk_type='PLK'):
        super().__init__()
        self.pdim = pdim
        self.lk_type = lk_type
        if lk_type == 'PLK':
            self.conv = conv(pdim, pdim, kernel_size)
        elif lk_type == 'RectSparsePLK':
            m, n = kernel_size, kernel_size // 3
            self.mn_conv = conv(pdim, pdim, (m, n))
            self.nm_conv = conv(pdim, pdim, (n, m))
            self.nn_conv = conv(pdim, pdim, (n, n))
        else:
            raise ValueError(f'lk_type {lk_type} is not supported here (superres refuses such checkpoints)')

    def forward(self, x):
        head, tail = x[:, :self.pdim], x[:, self.pdim:]
        if self.lk_type == 'PLK':
            head = self.conv(head)
        else:
            head = self.mn_conv(head) + self.nm_conv(head) + self.nn_conv(head)
        return torch.cat([head, tail], dim=1)


class ElementwiseAttention(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.f = nn.Sequential(conv(dim, dim, 3), nn.Sigmoid())

    def forward(self, x):
        return x * self.f(x)


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels of each pixel (NCHW), as RealPLKSR's `layer_norm`."""

    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))
        self.eps = eps

    def forward(self, x):
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class PLKBlock(nn.Module):
    def __init__(self, dim, ccm_type, kernel_size, split_ratio, lk_type, use_ea):
        super().__init__()
        self.channe_mixer = ChannelMixer(dim, CCM_KERNELS[ccm_type], nn.GELU())
        self.lk = PartialLargeKernel(int(dim * split_ratio), kernel_size, lk_type)
        self.attn = ElementwiseAttention(dim) if use_ea else nn.Identity()
        self.refine = conv(dim, dim, 1)

    def forward(self, x):
        return self.refine(self.attn(self.lk(self.channe_mixer(x)))) + x


class RealPLKBlock(nn.Module):
    def __init__(self, dim, kernel_size, split_ratio, use_ea, norm_groups, layer_norm):
        super().__init__()
        self.layer_norm = ChannelLayerNorm(dim) if layer_norm else nn.Identity()
        self.channel_mixer = ChannelMixer(dim, (3, 3), nn.Mish())
        self.lk = PartialLargeKernel(int(dim * split_ratio), kernel_size)
        self.attn = ElementwiseAttention(dim) if use_ea else nn.Identity()
        self.refine = conv(dim, dim, 1)
        self.norm = nn.Identity() if layer_norm else nn.GroupNorm(norm_groups, dim)

    def forward(self, x):
        y = self.channel_mixer(self.layer_norm(x))
        return self.norm(self.refine(self.attn(self.lk(y)))) + x


class _Upsampler(nn.Module):
    """The global skip shared by both: pixel_shuffle(feats(x) + repeat_interleave(x, s^2), s)."""

    def forward(self, x):
        s = self.upscaling_factor
        return F.pixel_shuffle(self.feats(x) + torch.repeat_interleave(x, s * s, dim=1), s)


class PLKSR(_Upsampler):
    def __init__(self, dim=64, n_blocks=28, upscaling_factor=4, ccm_type='CCM', kernel_size=17,
                 split_ratio=0.25, lk_type='PLK', use_ea=True):
        super().__init__()
        self.upscaling_factor = upscaling_factor
        self.feats = nn.Sequential(
            conv(3, dim, 3),
            *[PLKBlock(dim, ccm_type, kernel_size, split_ratio, lk_type, use_ea) for _ in range(n_blocks)],
            conv(dim, 3 * upscaling_factor ** 2, 3),
        )


class RealPLKSR(_Upsampler):
    def __init__(self, dim=64, n_blocks=28, upscaling_factor=4, kernel_size=17, split_ratio=0.25,
                 use_ea=True, norm_groups=4, layer_norm=False):
        super().__init__()
        self.upscaling_factor = upscaling_factor
        self.feats = nn.Sequential(
            conv(3, dim, 3),
            *[RealPLKBlock(dim, kernel_size, split_ratio, use_ea, norm_groups, layer_norm) for _ in range(n_blocks)],
            nn.Dropout2d(0.0),  # eval: identity; keeps the last conv at index n_blocks + 2
            conv(dim, 3 * upscaling_factor ** 2, 3),
        )


def receptive_radius(n_blocks, kernel_size, ccm_type='DCCM', use_ea=True):
    """Input pixels each side an output pixel depends on: the half-widths of the convolutions on
    the path added up (feats.0 and the last conv: 1 each; per block: the channel mixer's 3x3
    convs, the large kernel's kernel_size // 2, the attention's 3x3; 1x1 convs add nothing). The
    pixel shuffle maps output pixel (s h + i) to feature pixel h. GroupNorm's statistics reach
    further (the whole tile): RealPLKSR without layer norm is not tile-exact at any pad."""
    ccm = sum(k // 2 for k in CCM_KERNELS[ccm_type])
    return 2 + n_blocks * (ccm + kernel_size // 2 + (1 if use_ea else 0))
