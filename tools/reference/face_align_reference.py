"""How facexlib aligns a face: cv2.estimateAffinePartial2D(landmarks, FFHQ 512 template,
method=cv2.LMEDS) (FaceRestoreHelper.align_warp_face; docs/research/face-enhance-upstream.md
sections 3.4 and A.1). Writes packages/models/test/fixtures/reference/face-align/lmeds.json: for
the landmarks RetinaFace finds in images/faces/whole (retinaface/mobilenet0.25.json) and for
seeded synthetic sets (noisy similarities, one or two landmarks thrown far away), the 2x3 matrix
OpenCV returns. Needs Debian's python3-opencv (and python3-numpy); run as /usr/bin/python3.
"""

import json
import os

import cv2
import numpy as np

TEMPLATE = np.array([[192.98138, 239.94708], [318.90277, 240.1936], [256.63416, 314.01935], [201.26117, 371.41043], [313.08905, 371.15118]])


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    fixtures = os.path.join(root, 'packages/models/test/fixtures/reference')
    detected = json.load(open(os.path.join(fixtures, 'retinaface/mobilenet0.25.json')))
    cases = []
    for image in detected['images']:
        for i, face in enumerate(image['faces']):
            cases.append({'name': f"{image['image']} face {i}", 'landmarks': [face['landmarks'][k:k + 2] for k in range(0, 10, 2)]})
    rng = np.random.default_rng(7)
    for i in range(24):
        angle, scale = rng.uniform(-0.6, 0.6), rng.uniform(0.2, 3.0)
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) / scale
        points = (TEMPLATE - 256) @ rot.T + rng.uniform(50, 900, size=2) + rng.normal(0, 1.5 / scale, size=(5, 2))
        if i % 3 == 1:
            points[rng.integers(5)] += rng.uniform(-200, 200, size=2) / scale
        if i % 6 == 5:
            points[rng.integers(5)] += rng.uniform(-200, 200, size=2) / scale
        cases.append({'name': f'synthetic {i}', 'landmarks': points.astype(np.float32).tolist()})
    for case in cases:
        landmarks = np.array(case['landmarks'], dtype=np.float32)
        matrix, inliers = cv2.estimateAffinePartial2D(landmarks, TEMPLATE, method=cv2.LMEDS)
        case['matrix'] = matrix.tolist()
        case['inliers'] = inliers.ravel().tolist()
    out = os.path.join(fixtures, 'face-align/lmeds.json')
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, 'w') as f:
        json.dump({'opencv': cv2.__version__, 'template': TEMPLATE.tolist(), 'cases': cases}, f, indent=1)
        f.write('\n')
    print(f'{len(cases)} cases, {sum(1 for c in cases if sum(c["inliers"]) < 5)} with outliers excluded')


if __name__ == '__main__':
    main()
