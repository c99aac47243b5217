"""facexlib's paste_faces_to_input_image WITHOUT parsing (use_parse False; the plain mask:
docs/research/face-enhance-upstream.md 3.6, non-parse branch), for the two faces of
Blake_Lively.jpg at upscale 2 and 1.5: the restored faces are the aligned crops themselves, the
background a formula image of the upscaled size. Upstream's float32 arithmetic as written. Writes
face-mask/paste-plain.json: per case, each row's and each column's sum of the float blend and
of the blend rounded (half up) and clipped to uint8. Needs python3-opencv; run as /usr/bin/python3.
"""

import json
import os

import cv2
import numpy as np
from PIL import Image


def paste(rgb, affines, upscale):
    h_up, w_up = int(rgb.shape[0] * upscale), int(rgb.shape[1] * upscale)
    out = np.floor(127.5 + 127.5 * np.sin(0.37 * np.arange(h_up * w_up * 3, dtype=np.float64))).astype(np.uint8).reshape(h_up, w_up, 3)
    for affine in affines:
        restored = cv2.warpAffine(rgb, affine, (512, 512), borderMode=cv2.BORDER_CONSTANT, borderValue=(132, 133, 135))
        inverse = cv2.invertAffineTransform(affine) * upscale
        if upscale > 1:
            inverse[:, 2] += 0.5 * upscale
        inv_restored = cv2.warpAffine(restored, inverse, (w_up, h_up))
        mask = np.ones((512, 512), dtype=np.float32)
        inv_mask = cv2.warpAffine(mask, inverse, (w_up, h_up))
        inv_mask_erosion = cv2.erode(inv_mask, np.ones((int(2 * upscale), int(2 * upscale)), np.uint8))
        pasted_face = inv_mask_erosion[:, :, None] * inv_restored
        total_face_area = np.sum(inv_mask_erosion)
        w_edge = int(total_face_area**0.5) // 20
        erosion_radius = w_edge * 2
        inv_mask_center = cv2.erode(inv_mask_erosion, np.ones((erosion_radius, erosion_radius), np.uint8))
        blur_size = w_edge * 2
        inv_soft_mask = cv2.GaussianBlur(inv_mask_center, (blur_size + 1, blur_size + 1), 0)[:, :, None]
        out = inv_soft_mask * pasted_face + (1 - inv_soft_mask) * out
    final = np.clip(np.floor(out.astype(np.float64) + 0.5), 0, 255)
    return {'upscale': upscale, 'width': w_up, 'height': h_up, 'rowSums': out.reshape(h_up, -1).astype(np.float64).sum(axis=1).tolist(),
            'roundedRowSums': final.reshape(h_up, -1).sum(axis=1).astype(int).tolist(),
            'roundedColSums': final.sum(axis=(0, 2)).astype(int).tolist()}


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    fixtures = os.environ.get('SUPERRES_FIXTURES', os.path.join(root, '..', 'shared', 'fixtures'))
    ref = os.path.join(root, 'packages/models/test/fixtures/reference')
    rgb = np.asarray(Image.open(os.path.join(fixtures, 'images/faces/whole/Blake_Lively.jpg')).convert('RGB'))
    align = json.load(open(os.path.join(ref, 'face-align/lmeds.json')))
    affines = [np.array(next(c for c in align['cases'] if c['name'] == name)['matrix']) for name in ('Blake_Lively.jpg face 0', 'Blake_Lively.jpg face 1')]
    cases = [paste(rgb, affines, upscale) for upscale in (2, 1.5)]
    with open(os.path.join(ref, 'face-mask/paste-plain.json'), 'w') as f:
        json.dump({'opencv': cv2.__version__, 'cases': cases}, f)
        f.write('\n')
    print([(c['width'], c['height']) for c in cases])


if __name__ == '__main__':
    main()
