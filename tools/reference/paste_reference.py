"""facexlib's paste_faces_to_input_image with parsing, for two faces of Blake_Lively.jpg at upscale 2
(docs/research/face-enhance-upstream.md 3.5-3.6): the restored faces are the aligned crops
themselves (cv2.warpAffine, border (135, 133, 132) BGR), the soft mask is the formula mask of
face_mask_reference.py, the background a formula image of the upscaled size. Writes
face-mask/paste.json: each row's sum of the float64 blend, and the sha256 of the blend rounded
(half up) and clipped to uint8 (superres rounds and clips where upstream truncates). Needs
python3-opencv; run as /usr/bin/python3.
"""

import hashlib
import json
import os

import cv2
import numpy as np
from PIL import Image

from face_mask_reference import MASK_COLORMAP, formula_logits


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    fixtures = os.environ.get('SUPERRES_FIXTURES', os.path.join(root, '..', 'shared', 'fixtures'))
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
    rgb = np.asarray(Image.open(os.path.join(fixtures, 'images/faces/whole/Blake_Lively.jpg')).convert('RGB'))
    upscale = 2
    h_up, w_up = int(rgb.shape[0] * upscale), int(rgb.shape[1] * upscale)
    background = np.floor(127.5 + 127.5 * np.sin(0.37 * np.arange(h_up * w_up * 3, dtype=np.float64))).astype(np.uint8).reshape(h_up, w_up, 3)
    align = json.load(open(os.path.join(ref, 'face-align/lmeds.json')))
    out = background.astype(np.float64)
    for name in ('Blake_Lively.jpg face 0', 'Blake_Lively.jpg face 1'):
        affine = np.array(next(c for c in align['cases'] if c['name'] == name)['matrix'])
        restored = cv2.warpAffine(rgb, affine, (512, 512), borderMode=cv2.BORDER_CONSTANT, borderValue=(132, 133, 135))
        inverse = cv2.invertAffineTransform(affine) * upscale
        inverse[:, 2] += 0.5 * upscale
        inv_restored = cv2.warpAffine(restored, inverse, (w_up, h_up))
        inv_mask = cv2.warpAffine(mask, inverse, (w_up, h_up), flags=3)[:, :, None]
        out = inv_mask * inv_restored + (1 - inv_mask) * out
    final = np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)
    with open(os.path.join(ref, 'face-mask/paste.json'), 'w') as f:
        json.dump({'opencv': cv2.__version__, 'upscale': upscale, 'width': w_up, 'height': h_up,
                   'rowSums': out.reshape(h_up, -1).sum(axis=1).tolist(), 'sha256': hashlib.sha256(final.tobytes()).hexdigest()}, f)
        f.write('\n')
    print(f'{w_up}x{h_up}')


if __name__ == '__main__':
    main()
