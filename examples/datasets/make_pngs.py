"""Writes scikit-learn's bundled digits as 8x8 greyscale PNGs, one folder per label
(``OUT/3/0042.png``): the layout a classification dataset imports with its labels.

Standard library only for the PNG itself (zlib + CRC chunks); no network needed.
"""

import argparse
import os
import struct
import zlib

from sklearn.datasets import load_digits


def png(pixels, width, height):
    """An 8-bit greyscale PNG from a flat list of 0-255 values."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes(pixels[y * width:(y + 1) * width]) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out", help="folder to write <label>/<n>.png into")
    parser.add_argument("--limit", type=int, default=None, help="write only the first N")
    args = parser.parse_args()
    digits = load_digits()
    count = len(digits.target) if args.limit is None else args.limit
    for i in range(count):
        folder = os.path.join(args.out, str(digits.target[i]))
        os.makedirs(folder, exist_ok=True)
        pixels = [int(v * 255 / 16) for v in digits.data[i]]
        with open(os.path.join(folder, f"{i:04d}.png"), "wb") as fh:
            fh.write(png(pixels, 8, 8))
    print(f"wrote {count} PNGs into {args.out}")


if __name__ == "__main__":
    main()
