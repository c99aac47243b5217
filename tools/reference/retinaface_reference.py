"""RetinaFace as facexlib runs it, our own PyTorch re-implementation (no facexlib install):
the MobileNet-0.25 and ResNet-50 networks (facexlib/detection/retinaface_net.py, retinaface.py),
prior boxes, box and landmark decoding, the 0.97 score threshold FaceRestoreHelper uses and
torchvision's NMS semantics (IoU > 0.4 suppresses; areas without +1). Facts and their upstream
lines: docs/research/face-enhance-upstream.md, section 4.

With no arguments: loads weights/detection_mobilenet0.25_Final.pth from the fixtures folder
(--fixtures DIR, $SUPERRES_FIXTURES or ../shared/fixtures), detects the faces of every image in
images/faces/whole, and writes packages/models/test/fixtures/reference/retinaface/mobilenet0.25.json:
per image its size and each face's box (x1, y1, x2, y2), score and five landmarks, in the
original image's pixels. Also writes resnet50-formula.json: the raw outputs of a ResNet-50
RetinaFace whose weights come from a formula (formula_state_dict; the TypeScript test builds the
same weights) on a 64x48 formula image, with the tensors' names and shapes. Images are read with Pillow as RGB, alpha dropped, and fed as BGR 0-255
(as cv2.imread gives them).

Needs PyTorch >= 1.13 (Debian: python3-torch, run as /usr/bin/python3).
"""

import argparse
import hashlib
import json
import math
import os
from itertools import product

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F

MIN_SIZES = [[16, 32], [64, 128], [256, 512]]
STEPS = [8, 16, 32]
VARIANCE = (0.1, 0.2)
MEAN_BGR = (104.0, 117.0, 123.0)


def conv_bn(inp, oup, stride=1, leaky=0.0):
    return nn.Sequential(nn.Conv2d(inp, oup, 3, stride, 1, bias=False), nn.BatchNorm2d(oup), nn.LeakyReLU(negative_slope=leaky, inplace=True))


def conv_bn_no_relu(inp, oup, stride=1):
    return nn.Sequential(nn.Conv2d(inp, oup, 3, stride, 1, bias=False), nn.BatchNorm2d(oup))


def conv_bn1x1(inp, oup, stride=1, leaky=0.0):
    return nn.Sequential(nn.Conv2d(inp, oup, 1, stride, 0, bias=False), nn.BatchNorm2d(oup), nn.LeakyReLU(negative_slope=leaky, inplace=True))


def conv_dw(inp, oup, stride, leaky=0.1):
    return nn.Sequential(
        nn.Conv2d(inp, inp, 3, stride, 1, groups=inp, bias=False),
        nn.BatchNorm2d(inp),
        nn.LeakyReLU(negative_slope=leaky, inplace=True),
        nn.Conv2d(inp, oup, 1, 1, 0, bias=False),
        nn.BatchNorm2d(oup),
        nn.LeakyReLU(negative_slope=leaky, inplace=True),
    )


class MobileNetV1Body(nn.Module):
    """stage1..stage3 of facexlib's MobileNetV1 (0.25): strides 8, 16, 32 with 64, 128, 256 channels."""

    def __init__(self):
        super().__init__()
        self.stage1 = nn.Sequential(
            conv_bn(3, 8, 2, leaky=0.1), conv_dw(8, 16, 1), conv_dw(16, 32, 2), conv_dw(32, 32, 1), conv_dw(32, 64, 2), conv_dw(64, 64, 1)
        )
        self.stage2 = nn.Sequential(conv_dw(64, 128, 2), *[conv_dw(128, 128, 1) for _ in range(5)])
        self.stage3 = nn.Sequential(conv_dw(128, 256, 2), conv_dw(256, 256, 1))

    def forward(self, x):
        c3 = self.stage1(x)
        c4 = self.stage2(c3)
        return [c3, c4, self.stage3(c4)]


class Bottleneck(nn.Module):
    """torchvision's ResNet-50 bottleneck (stride on the 3x3 convolution)."""

    def __init__(self, inp, width, stride, downsample):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, width * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(width * 4)
        self.downsample = nn.Sequential(nn.Conv2d(inp, width * 4, 1, stride, bias=False), nn.BatchNorm2d(width * 4)) if downsample else None

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + (self.downsample(x) if self.downsample is not None else x))


class ResNet50Body(nn.Module):
    def __init__(self, blocks=(3, 4, 6, 3)):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        inp = 64
        for i, (n, width) in enumerate(zip(blocks, (64, 128, 256, 512))):
            stride = 1 if i == 0 else 2
            layers = [Bottleneck(inp, width, stride, True)] + [Bottleneck(width * 4, width, 1, False) for _ in range(n - 1)]
            setattr(self, f'layer{i + 1}', nn.Sequential(*layers))
            inp = width * 4

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        c2 = self.layer1(x)
        c3 = self.layer2(c2)
        c4 = self.layer3(c3)
        return [c3, c4, self.layer4(c4)]


class FPN(nn.Module):
    def __init__(self, in_list, out):
        super().__init__()
        leaky = 0.1 if out <= 64 else 0.0
        self.output1 = conv_bn1x1(in_list[0], out, leaky=leaky)
        self.output2 = conv_bn1x1(in_list[1], out, leaky=leaky)
        self.output3 = conv_bn1x1(in_list[2], out, leaky=leaky)
        self.merge1 = conv_bn(out, out, leaky=leaky)
        self.merge2 = conv_bn(out, out, leaky=leaky)

    def forward(self, feats):
        o1, o2, o3 = self.output1(feats[0]), self.output2(feats[1]), self.output3(feats[2])
        o2 = self.merge2(o2 + F.interpolate(o3, size=[o2.size(2), o2.size(3)], mode='nearest'))
        o1 = self.merge1(o1 + F.interpolate(o2, size=[o1.size(2), o1.size(3)], mode='nearest'))
        return [o1, o2, o3]


class SSH(nn.Module):
    def __init__(self, inp, out):
        super().__init__()
        leaky = 0.1 if out <= 64 else 0.0
        self.conv3X3 = conv_bn_no_relu(inp, out // 2)
        self.conv5X5_1 = conv_bn(inp, out // 4, leaky=leaky)
        self.conv5X5_2 = conv_bn_no_relu(out // 4, out // 4)
        self.conv7X7_2 = conv_bn(out // 4, out // 4, leaky=leaky)
        self.conv7x7_3 = conv_bn_no_relu(out // 4, out // 4)

    def forward(self, x):
        c3 = self.conv3X3(x)
        c5_1 = self.conv5X5_1(x)
        c5 = self.conv5X5_2(c5_1)
        c7 = self.conv7x7_3(self.conv7X7_2(c5_1))
        return F.relu(torch.cat([c3, c5, c7], dim=1))


class Head(nn.Module):
    def __init__(self, inp, per_anchor):
        super().__init__()
        self.conv1x1 = nn.Conv2d(inp, 2 * per_anchor, 1)
        self.per_anchor = per_anchor

    def forward(self, x):
        out = self.conv1x1(x).permute(0, 2, 3, 1).contiguous()
        return out.view(out.shape[0], -1, self.per_anchor)


class RetinaFace(nn.Module):
    def __init__(self, backbone='mobilenet0.25'):
        super().__init__()
        if backbone == 'mobilenet0.25':
            self.body, in_channel, out = MobileNetV1Body(), 32, 64
        else:
            self.body, in_channel, out = ResNet50Body(), 256, 256
        self.fpn = FPN([in_channel * 2, in_channel * 4, in_channel * 8], out)
        self.ssh1, self.ssh2, self.ssh3 = SSH(out, out), SSH(out, out), SSH(out, out)
        self.ClassHead = nn.ModuleList([Head(out, 2) for _ in range(3)])
        self.BboxHead = nn.ModuleList([Head(out, 4) for _ in range(3)])
        self.LandmarkHead = nn.ModuleList([Head(out, 10) for _ in range(3)])

    def forward(self, x):
        fpn = self.fpn(self.body(x))
        feats = [self.ssh1(fpn[0]), self.ssh2(fpn[1]), self.ssh3(fpn[2])]
        loc = torch.cat([self.BboxHead[i](f) for i, f in enumerate(feats)], dim=1)
        conf = torch.cat([self.ClassHead[i](f) for i, f in enumerate(feats)], dim=1)
        landms = torch.cat([self.LandmarkHead[i](f) for i, f in enumerate(feats)], dim=1)
        return loc, F.softmax(conf, dim=-1), landms


def priors(height, width):
    anchors = []
    for k, step in enumerate(STEPS):
        for i, j in product(range(math.ceil(height / step)), range(math.ceil(width / step))):
            for min_size in MIN_SIZES[k]:
                anchors += [(j + 0.5) * step / width, (i + 0.5) * step / height, min_size / width, min_size / height]
    return torch.tensor(anchors, dtype=torch.float32).view(-1, 4)


def nms(boxes, scores, threshold):
    """torchvision.ops.nms on the CPU: highest score first, suppress IoU > threshold, no +1 in areas."""
    order = np.argsort(-scores, kind='stable')
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep, suppressed = [], np.zeros(len(order), dtype=bool)
    for a, i in enumerate(order):
        if suppressed[a]:
            continue
        keep.append(i)
        for b in range(a + 1, len(order)):
            j = order[b]
            if suppressed[b]:
                continue
            w = max(0.0, min(boxes[i, 2], boxes[j, 2]) - max(boxes[i, 0], boxes[j, 0]))
            h = max(0.0, min(boxes[i, 3], boxes[j, 3]) - max(boxes[i, 1], boxes[j, 1]))
            inter = w * h
            if inter / (area[i] + area[j] - inter) > threshold:
                suppressed[b] = True
    return keep


def detect(model, bgr, conf_threshold=0.97, nms_threshold=0.4):
    height, width = bgr.shape[:2]
    x = torch.from_numpy(bgr.astype(np.float32).transpose(2, 0, 1)).unsqueeze(0)
    x = x - torch.tensor(MEAN_BGR, dtype=torch.float32).view(1, 3, 1, 1)
    with torch.no_grad():
        loc, conf, landms = model(x)
    p = priors(height, width)
    v0, v1 = VARIANCE
    boxes = torch.cat((p[:, :2] + loc[0, :, :2] * v0 * p[:, 2:], p[:, 2:] * torch.exp(loc[0, :, 2:] * v1)), 1)
    boxes[:, :2] -= boxes[:, 2:] / 2
    boxes[:, 2:] += boxes[:, :2]
    points = torch.cat([p[:, :2] + landms[0, :, 2 * k : 2 * k + 2] * v0 * p[:, 2:] for k in range(5)], 1)
    boxes = (boxes * torch.tensor([width, height, width, height], dtype=torch.float32)).numpy()
    points = (points * torch.tensor([width, height] * 5, dtype=torch.float32)).numpy()
    scores = conf[0, :, 1].numpy()
    inds = np.where(scores > conf_threshold)[0]
    boxes, points, scores = boxes[inds], points[inds], scores[inds]
    keep = nms(boxes, scores, nms_threshold)
    return [
        {'box': [float(v) for v in boxes[i]], 'score': float(scores[i]), 'landmarks': [float(v) for v in points[i]]}
        for i in keep
    ]


def load(path, backbone):
    state = torch.load(path, map_location='cpu')
    state = {k[7:] if k.startswith('module.') else k: v for k, v in state.items()}
    model = RetinaFace(backbone)
    model.load_state_dict(state, strict=True)
    return model.eval()


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def formula(key, count, kind):
    """Deterministic stand-in weights, the same in packages/models/test/support/formula-weights.ts:
    value i of tensor `key` is 2 frac(|sin(seed + 12.9898 i)| 43758.5453) - 1 (uniform-looking in
    [-1, 1)) with seed = sum of the key's character codes mod 997, scaled by its role (convolutions
    by sqrt(3 / the product of their dims after the first), BatchNorm near the identity)."""
    seed = sum(ord(c) for c in key) % 997
    u = np.abs(np.sin(seed + 12.9898 * np.arange(count, dtype=np.float64))) * 43758.5453
    t = 2.0 * (u - np.floor(u)) - 1.0
    if kind == 'running_var':
        t = 1.0 + 0.5 * np.abs(t)
    elif kind == 'bn_weight':
        t = 1.0 + 0.1 * t
    elif kind in ('bn_bias', 'running_mean', 'bias'):
        t = 0.1 * t
    return t.astype(np.float32)


def formula_state_dict(model):
    state = {}
    for key, value in model.state_dict().items():
        if key.endswith('num_batches_tracked'):
            state[key] = value
            continue
        shape = list(value.shape)
        if key.endswith('running_var'):
            kind = 'running_var'
        elif key.endswith('running_mean'):
            kind = 'running_mean'
        elif len(shape) == 1 and key.endswith('.weight'):
            kind = 'bn_weight'
        elif len(shape) == 1 and 'conv1x1' not in key:
            kind = 'bn_bias'
        elif len(shape) == 1:
            kind = 'bias'
        else:
            kind = 'conv'
        t = formula(key, value.numel(), kind)
        if kind == 'conv':
            t = t * np.float32(math.sqrt(3.0 / int(np.prod(shape[1:]))))
        state[key] = torch.from_numpy(t.reshape(shape).copy())
    return state


def random_weights_reference(out, width=64, height=48):
    """ResNet-50 RetinaFace with formula weights on a formula image: raw outputs, and the keys and shapes."""
    model = RetinaFace('resnet50').eval()
    state = formula_state_dict(model)
    model.load_state_dict(state, strict=True)
    image = (127.5 + 127.5 * np.sin(0.37 * np.arange(3 * height * width, dtype=np.float64))).astype(np.float32).reshape(1, 3, height, width)
    x = torch.from_numpy(image) - torch.tensor(MEAN_BGR, dtype=torch.float32).view(1, 3, 1, 1)
    with torch.no_grad():
        loc, conf, landms = model(x)
    tensors = [[k, list(v.shape)] for k, v in state.items() if not k.endswith('num_batches_tracked')]
    with open(out, 'w') as f:
        json.dump({'backbone': 'resnet50', 'width': width, 'height': height, 'torch': torch.__version__, 'tensors': tensors,
                   'loc': loc.flatten().tolist(), 'conf': conf.flatten().tolist(), 'landms': landms.flatten().tolist()}, f)
        f.write('\n')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser.add_argument('--fixtures', default=os.environ.get('SUPERRES_FIXTURES', os.path.join(root, '..', 'shared', 'fixtures')))
    parser.add_argument('--out', default=os.path.join(root, 'packages/models/test/fixtures/reference/retinaface/mobilenet0.25.json'))
    parser.add_argument('--random-out', default=os.path.join(root, 'packages/models/test/fixtures/reference/retinaface/resnet50-formula.json'))
    args = parser.parse_args()
    torch.set_num_threads(2)
    random_weights_reference(args.random_out)
    weights = os.path.join(args.fixtures, 'weights', 'detection_mobilenet0.25_Final.pth')
    model = load(weights, 'mobilenet0.25')
    folder = os.path.join(args.fixtures, 'images', 'faces', 'whole')
    images = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        rgb = np.asarray(Image.open(path).convert('RGB'))
        faces = detect(model, rgb[:, :, ::-1].copy())
        images.append({'image': name, 'sha256': sha256(path), 'width': rgb.shape[1], 'height': rgb.shape[0], 'faces': faces})
        print(f'{name}: {len(faces)} face(s)')
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump({'weights': 'detection_mobilenet0.25_Final.pth', 'weightsSha256': sha256(weights), 'torch': torch.__version__,
                   'confThreshold': 0.97, 'nmsThreshold': 0.4, 'images': images}, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
