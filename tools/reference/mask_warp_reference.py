"""cv2.warpAffine(mask, inverse_affine, (w, h), flags=3) as the paste-back warps its soft mask
(flags=3 is INTER_AREA, which warpAffine runs as INTER_LINEAR)
(docs/research/face-enhance-upstream.md section 3.6): the formula mask of face_mask_reference.py,
warped by the scaled inverse of a face's alignment (face-align/lmeds.json, 00.jpg face 0, upscale 0.5,
plus the +0.5 * upscale offset facexlib adds). Writes face-mask/warp.json: the output size, its sum
and every 8th pixel of every 8th row. Needs python3-opencv; run as /usr/bin/python3.
"""

import json
import os

import cv2
import numpy as np

from face_mask_reference import MASK_COLORMAP, formula_logits


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ref = os.path.join(root, 'packages/models/test/fixtures/reference')
    labels = formula_logits().argmax(axis=0)
    mask = np.zeros(labels.shape)
    for idx, color in enumerate(MASK_COLORMAP):
        mask[labels == idx] = color
    mask = cv2.GaussianBlur(cv2.GaussianBlur(mask, (101, 101), 11), (101, 101), 11)
    mask[:10, :] = 0
    mask[-10:, :] = 0
    mask[:, :10] = 0
    mask[:, -10:] = 0
    mask = mask / 255.0
    align = json.load(open(os.path.join(ref, 'face-align/lmeds.json')))
    matrix = np.array(next(c for c in align['cases'] if c['name'] == '00.jpg face 0')['matrix'])
    upscale = 0.5
    inverse = cv2.invertAffineTransform(matrix) * upscale
    inverse[:, 2] += 0.5 * upscale
    w, h = int(1297 * upscale), int(1920 * upscale)
    warped = cv2.warpAffine(mask, inverse, (w, h), flags=3)
    with open(os.path.join(ref, 'face-mask/warp.json'), 'w') as f:
        json.dump({'opencv': cv2.__version__, 'matrix': inverse.ravel().tolist(), 'width': w, 'height': h, 'step': 8,
                   'sum': float(warped.sum()), 'sampled': warped[::8, ::8].ravel().tolist()}, f)
        f.write('\n')
    print(f'{w}x{h}, sum {warped.sum():.6f}, range {warped.min():.4f}..{warped.max():.4f}')


if __name__ == '__main__':
    main()
