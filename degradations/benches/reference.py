#!/usr/bin/env python3
"""Times the Python counterparts of the `degradations` benches on the same 224x224 image.

Prints one line per case: median microseconds per call (PIL / OpenCV / numpy), single
thread for OpenCV (the Rust code is single-threaded). Compare with
`cargo bench -p degradations --bench degradations` run right before or after, on the
same machine. Usage: python3 degradations/benches/reference.py
"""
import io
import timeit

import cv2
import numpy as np
from PIL import Image

SIDE = 224


def test_image():
    """The image of benches/degradations.rs, sample for sample."""
    y, x = np.mgrid[0:SIDE, 0:SIDE].astype(np.int64)
    texture = (x * 7919 + y * 104729) % 61
    checker = ((x // 16 + y // 16) % 2) == 0
    blue = np.where(checker, 40 + texture, 200 - texture)
    return np.stack([x, y, blue], axis=-1).astype(np.uint8)


def jpeg_roundtrip(img, q):
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=q)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def noise(img, variance, rng):
    noisy = img + rng.normal(0.0, np.sqrt(variance), img.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def lowres(img, r):
    pil = Image.fromarray(img)
    small = (max(1, int(SIDE / r + 0.5)),) * 2
    return np.asarray(pil.resize(small, Image.BILINEAR).resize((SIDE, SIDE), Image.BILINEAR))


def disorganize(img, rng):
    t = SIDE // 2
    tiles = [img[:t, :t], img[:t, t:], img[t:, :t], img[t:, t:]]
    order = rng.permutation(4)
    out = img.copy()
    for d, s in enumerate(order):
        out[(d // 2) * t:(d // 2 + 1) * t, (d % 2) * t:(d % 2 + 1) * t] = tiles[s]
    return out


def median_us(fn, number=50, repeat=15):
    times = timeit.repeat(fn, number=number, repeat=repeat)
    return float(np.median(times)) / number * 1e6


def main():
    cv2.setNumThreads(1)
    img = test_image()
    rng = np.random.default_rng(7)
    cases = []
    for q in (30, 75, 95):
        cases.append((f"jpeg/224x224/{q}", lambda q=q: jpeg_roundtrip(img, q)))
    for k in (3, 9, 15, 31):
        cases.append((f"blur/224x224/{k}", lambda k=k: cv2.GaussianBlur(img, (k, k), 0)))
    cases.append(("noise/224x224/25", lambda: noise(img, 25.0, rng)))
    for r in (2, 4, 8):
        cases.append((f"lowres/224x224/{r}", lambda r=r: lowres(img, r)))
    cases.append(("disorganize/224x224", lambda: disorganize(img, rng)))
    for name, fn in cases:
        print(f"{name:24s} {median_us(fn):10.1f} us")


if __name__ == "__main__":
    main()
