"""Writes an image-folder data set of small PNG files made from scikit-learn's bundled digits.

``OUT/train/<label>/<n>.png`` and ``OUT/val/<label>/<n>.png``: thousands of tiny files, the
shape of data that is slow to read straight from object storage one request per file and
fast from a file system (seed S5). No network and no imaging library needed: the PNGs are
8-bit grayscale, written with zlib.
"""

from __future__ import annotations

import argparse
import os
import struct
import zlib

import numpy as np
from sklearn.datasets import load_digits

FIXED_MTIME = 1_700_000_000


def png(pixels: np.ndarray) -> bytes:
    """A grayscale PNG of a 2-D uint8 array (filter type 0 on every row)."""
    height, width = pixels.shape

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    rows = b"".join(b"\x00" + pixels[r].tobytes() for r in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def augment(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A noisy, re-inked copy, so the data set can be larger than the 1797 originals."""
    ink = rng.uniform(0.8, 1.2)
    return np.clip(image * ink + rng.normal(0, 0.8, size=image.shape), 0, 16)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", help="folder to write train/ and val/ into")
    parser.add_argument("--count", type=int, default=3000, help="number of images")
    parser.add_argument("--val", type=float, default=0.2, help="fraction for validation")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    digits = load_digits()
    rng = np.random.default_rng(args.seed)
    n_orig = len(digits.target)
    for i in range(args.count):
        j = i % n_orig
        image = digits.images[j] if i < n_orig else augment(digits.images[j], rng)
        pixels = np.round(image * (255 / 16)).astype(np.uint8)
        split = "val" if rng.random() < args.val else "train"
        folder = os.path.join(args.out, split, str(digits.target[j]))
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"{i:05d}.png")
        with open(path, "wb") as fh:
            fh.write(png(pixels))
        # Same bytes and same time on every run, so uploading and preloading the data again
        # copies nothing (the transfer engine compares size and modification time).
        os.utime(path, (FIXED_MTIME, FIXED_MTIME))
    print(f"wrote {args.count} PNG files under {args.out}")


if __name__ == "__main__":
    main()
