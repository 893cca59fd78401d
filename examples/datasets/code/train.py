"""Digits classifier that reads a ModelArts dataset version: the manifest in --data_url
(JSON lines: source, usage TRAIN/EVAL, annotation[0].name is the label).

It knows nothing about ModelYard: on ModelArts the same manifest format comes with a
dataset input. PNGs are decoded with the standard library (8-bit greyscale, the kind
make_pngs.py writes), so only scikit-learn and numpy are needed.
"""

import argparse
import glob
import json
import os
import pickle
import struct
import zlib

import numpy as np
from sklearn.neural_network import MLPClassifier


def read_png(path):
    """Pixels of an 8-bit greyscale, non-interlaced PNG (all five row filters)."""
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            if (depth, colour, body[12]) != (8, 0, 0):
                raise ValueError(f"{path}: only 8-bit greyscale, non-interlaced PNGs")
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, rows, prev = zlib.decompress(idat), [], bytearray(width)
    for y in range(height):
        line = raw[y * (width + 1):(y + 1) * (width + 1)]
        kind, row = line[0], bytearray(line[1:])
        for x in range(width):
            left = row[x - 1] if x else 0
            up, up_left = prev[x], prev[x - 1] if x else 0
            if kind == 1:
                row[x] = (row[x] + left) & 0xFF
            elif kind == 2:
                row[x] = (row[x] + up) & 0xFF
            elif kind == 3:
                row[x] = (row[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
                row[x] = (row[x] + pred) & 0xFF
        rows.append(row)
        prev = row
    return np.frombuffer(b"".join(bytes(r) for r in rows), dtype=np.uint8)


def load(manifest):
    parts = {"TRAIN": ([], []), "EVAL": ([], [])}
    with open(manifest, encoding="utf-8") as fh:
        samples = [json.loads(line) for line in fh if line.strip()]
    for sample in samples:
        if sample.get("usage") in parts and sample.get("annotation"):
            x, y = parts[sample["usage"]]
            x.append(read_png(sample["source"]) / 255.0)
            y.append(int(sample["annotation"][0]["name"]))
    return {k: (np.array(x), np.array(y)) for k, (x, y) in parts.items()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data_url", required=True, help="folder with the version's manifest")
    parser.add_argument("--train_url", required=True, help="folder for the model")
    parser.add_argument("--hidden_size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=300)
    args, _ = parser.parse_known_args()
    (manifest,) = glob.glob(os.path.join(args.data_url, "*.manifest"))
    data = load(manifest)
    (x_train, y_train), (x_eval, y_eval) = data["TRAIN"], data["EVAL"]
    print(f"manifest {os.path.basename(manifest)}: {len(y_train)} train, {len(y_eval)} eval")
    model = MLPClassifier(hidden_layer_sizes=(args.hidden_size,), max_iter=args.epochs,
                          random_state=0)
    model.fit(x_train, y_train)
    print(f"eval_accuracy={model.score(x_eval, y_eval):.4f}")
    os.makedirs(args.train_url, exist_ok=True)
    with open(os.path.join(args.train_url, "model.pkl"), "wb") as fh:
        pickle.dump(model, fh)


if __name__ == "__main__":
    main()
