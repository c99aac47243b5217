"""cv2.warpAffine as face enhancement uses it (bilinear, constant border; sections 3.4 and 3.6 of
docs/research/face-enhance-upstream.md): crops of fixture photos to the 512x512 FFHQ template
(with the matrices of face-align/lmeds.json and the border (135, 133, 132) in BGR), and a crop
warped back by the inverse matrix scaled as the paste-back does. Writes
packages/models/test/fixtures/reference/face-align/warp.json: per case the matrix, the output size,
the sha256 of the output's RGB bytes and each row's byte sum. Needs python3-opencv; run as
/usr/bin/python3.
"""

import hashlib
import json
import os

import cv2
import numpy as np
from PIL import Image


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    fixtures = os.environ.get('SUPERRES_FIXTURES', os.path.join(root, '..', 'shared', 'fixtures'))
    ref = os.path.join(root, 'packages/models/test/fixtures/reference/face-align')
    align = json.load(open(os.path.join(ref, 'lmeds.json')))
    cases = []
    for name, image_name in (('00.jpg face 0', '00.jpg'), ('Blake_Lively.jpg face 1', 'Blake_Lively.jpg')):
        matrix = np.array(next(c for c in align['cases'] if c['name'] == name)['matrix'])
        rgb = np.asarray(Image.open(os.path.join(fixtures, 'images/faces/whole', image_name)).convert('RGB'))
        crop = cv2.warpAffine(rgb, matrix, (512, 512), borderMode=cv2.BORDER_CONSTANT, borderValue=(132, 133, 135))
        cases.append({'name': f'{name}: crop', 'image': image_name, 'matrix': matrix.ravel().tolist(), 'width': 512, 'height': 512,
                      'borderValue': [132, 133, 135], 'sha256': hashlib.sha256(crop.tobytes()).hexdigest(),
                      'rowSums': crop.reshape(512, -1).sum(axis=1).astype(int).tolist()})
        # Back, as the paste-back does (its upscale 0.5 here keeps the reference small).
        upscale = 0.5
        inverse = cv2.invertAffineTransform(matrix) * upscale
        h, w = int(rgb.shape[0] * upscale), int(rgb.shape[1] * upscale)
        back = cv2.warpAffine(crop, inverse, (w, h))
        cases.append({'name': f'{name}: back', 'source': f'{name}: crop', 'matrix': inverse.ravel().tolist(), 'width': w, 'height': h,
                      'borderValue': [0, 0, 0], 'sha256': hashlib.sha256(back.tobytes()).hexdigest(),
                      'rowSums': back.reshape(h, -1).sum(axis=1).astype(int).tolist()})
    with open(os.path.join(ref, 'warp.json'), 'w') as f:
        json.dump({'opencv': cv2.__version__, 'cases': cases}, f)
        f.write('\n')
    print(f'{len(cases)} cases')


if __name__ == '__main__':
    main()
