"""The paste-back mask facexlib builds from parsing logits (face_restoration_helper.py,
paste_faces_to_input_image with use_parse; docs/research/face-enhance-upstream.md section 3.6):
argmax, MASK_COLORMAP, cv2.GaussianBlur((101, 101), 11) twice, a 10-pixel frame zeroed, / 255.
The logits come from a formula (19 smooth waves; the TypeScript test computes the same ones).
Writes packages/models/test/fixtures/reference/face-mask/mask.json: the mask at every 8th pixel
of every 8th row, and its sum. Needs python3-opencv; run as /usr/bin/python3.
"""

import json
import os

import cv2
import numpy as np

MASK_COLORMAP = [0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0, 255, 0, 0, 0]


def formula_logits(size=512, classes=19):
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    c = np.arange(classes, dtype=np.float64)[:, None, None]
    return np.sin(x * (0.011 + 0.0013 * c) + y * (0.007 + 0.0021 * c) + 1.7 * c).astype(np.float32)


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    logits = formula_logits()
    labels = logits.argmax(axis=0)
    mask = np.zeros(labels.shape)
    for idx, color in enumerate(MASK_COLORMAP):
        mask[labels == idx] = color
    mask = cv2.GaussianBlur(mask, (101, 101), 11)
    mask = cv2.GaussianBlur(mask, (101, 101), 11)
    thres = 10
    mask[:thres, :] = 0
    mask[-thres:, :] = 0
    mask[:, :thres] = 0
    mask[:, -thres:] = 0
    mask = mask / 255.0
    out = os.path.join(root, 'packages/models/test/fixtures/reference/face-mask/mask.json')
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, 'w') as f:
        json.dump({'opencv': cv2.__version__, 'size': 512, 'step': 8, 'sum': float(mask.sum()), 'sampled': mask[::8, ::8].ravel().tolist()}, f)
        f.write('\n')
    print(f'mask sum {mask.sum():.6f}, face share {(labels_face := np.isin(labels, [i for i, v in enumerate(MASK_COLORMAP) if v])).mean():.3f}')


if __name__ == '__main__':
    main()
