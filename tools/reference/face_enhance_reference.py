"""The whole face-enhance path as GFPGANer + FaceRestoreHelper run it (docs/research/
face-enhance-upstream.md sections 2-3), on Blake_Lively.jpg at upscale 2: our RetinaFace
(real MobileNet-0.25 weights), cv2 LMEDS alignment and crop, GFPGANv1Clean and ParseNet with
formula weights (stored noise), tensor2img, the parsing mask, and the paste-back into a flat gray
background (128). The blend is rounded and clipped (superres' choice; upstream truncates).
Writes face-enhance/blake-x2.png. Needs python3-torch and python3-opencv; run as /usr/bin/python3.
"""

import os

import cv2
import numpy as np
import torch
from PIL import Image

from face_mask_reference import MASK_COLORMAP
from gfpgan_reference import GFPGANv1Clean
from parsenet_reference import ParseNet
from retinaface_reference import detect, formula_state_dict, load

TEMPLATE = np.array([[192.98138, 239.94708], [318.90277, 240.1936], [256.63416, 314.01935], [201.26117, 371.41043], [313.08905, 371.15118]])


def formula_model(model):
    model.load_state_dict(formula_state_dict(model), strict=True)
    return model.eval()


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    fixtures = os.environ.get('SUPERRES_FIXTURES', os.path.join(root, '..', 'shared', 'fixtures'))
    torch.set_num_threads(2)
    detector = load(os.path.join(fixtures, 'weights', 'detection_mobilenet0.25_Final.pth'), 'mobilenet0.25')
    gfpgan = formula_model(GFPGANv1Clean())
    parsenet = formula_model(ParseNet())
    bgr = np.asarray(Image.open(os.path.join(fixtures, 'images/faces/whole/Blake_Lively.jpg')).convert('RGB'))[:, :, ::-1].copy()
    upscale = 2
    h_up, w_up = bgr.shape[0] * upscale, bgr.shape[1] * upscale
    out = np.full((h_up, w_up, 3), 128.0)
    for face in detect(detector, bgr):
        landmarks = np.array(face['landmarks'], dtype=np.float32).reshape(5, 2)
        if np.linalg.norm(landmarks[0] - landmarks[1]) < 5:
            continue
        affine = cv2.estimateAffinePartial2D(landmarks, TEMPLATE, method=cv2.LMEDS)[0]
        crop = cv2.warpAffine(bgr, affine, (512, 512), borderMode=cv2.BORDER_CONSTANT, borderValue=(135, 133, 132))
        x = torch.from_numpy(((crop[:, :, ::-1].astype(np.float32) / 255.0 - 0.5) / 0.5).transpose(2, 0, 1).copy()).unsqueeze(0)
        with torch.no_grad():
            y = gfpgan(x)[0].clamp(-1, 1)
        rgb = ((y + 1) / 2).numpy().transpose(1, 2, 0)
        restored = np.round(rgb[:, :, ::-1] * np.float32(255.0)).astype(np.uint8)  # BGR
        p = torch.from_numpy(((restored[:, :, ::-1].astype(np.float32) / 255.0 - 0.5) / 0.5).transpose(2, 0, 1).copy()).unsqueeze(0)
        with torch.no_grad():
            labels = parsenet(p)[0].argmax(dim=1).squeeze().numpy()
        mask = np.zeros(labels.shape)
        for idx, color in enumerate(MASK_COLORMAP):
            mask[labels == idx] = color
        mask = cv2.GaussianBlur(cv2.GaussianBlur(mask, (101, 101), 11), (101, 101), 11)
        mask[:10, :] = 0
        mask[-10:, :] = 0
        mask[:, :10] = 0
        mask[:, -10:] = 0
        mask = mask / 255.0
        inverse = cv2.invertAffineTransform(affine) * upscale
        inverse[:, 2] += 0.5 * upscale
        inv_restored = cv2.warpAffine(restored, inverse, (w_up, h_up))
        inv_mask = cv2.warpAffine(mask, inverse, (w_up, h_up), flags=3)[:, :, None]
        out = inv_mask * inv_restored + (1 - inv_mask) * out
    final = np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)[:, :, ::-1]
    path = os.path.join(root, 'packages/models/test/fixtures/reference/face-enhance/blake-x2.png')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(final).save(path, optimize=True)
    print(f'{w_up}x{h_up}, {os.path.getsize(path)} bytes')


if __name__ == '__main__':
    main()
