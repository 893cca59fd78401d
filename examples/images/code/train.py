"""Digits from a folder of PNG files, read through a file-system mount (seed S5).

Written the ModelArts way: argparse and ``parse_known_args``; the data folder is a plain
path (``--data_dir``, the mount path of a preloaded file system), the model goes to
``--train_url``. It re-reads every image file each epoch, like a data loader over a data set
too large for memory, and prints how long each epoch's reading took.
"""

import argparse
import json
import os
import struct
import time
import zlib

import numpy as np


def parse_args():
    parser = argparse.ArgumentParser(description="image-folder digits training")
    parser.add_argument("--data_dir", default="/mnt/images", help="train/ and val/ folders")
    parser.add_argument("--train_url", required=True, help="folder for the model")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--learning_rate", type=float, default=0.5)
    parser.add_argument("--batch_size", type=int, default=64)
    args, unknown = parser.parse_known_args()  # the platform may add arguments
    if unknown:
        print(f"ignoring unknown arguments: {unknown}")
    return args


def read_png(path):
    """Decodes the 8-bit grayscale, filter-0 PNGs that prepare_data.py writes."""
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    pos, width, height, idat = 8, 0, 0, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width + 1
    rows = [raw[r * stride + 1:(r + 1) * stride] for r in range(height)]
    return np.frombuffer(b"".join(rows), dtype=np.uint8).astype(np.float32) / 255.0


def list_split(root):
    items = []
    for label in sorted(os.listdir(root)):
        folder = os.path.join(root, label)
        for name in sorted(os.listdir(folder)):
            if name.endswith(".png"):
                items.append((os.path.join(folder, name), int(label)))
    return items


def load(items):
    x = np.stack([read_png(path) for path, _ in items])
    y = np.array([label for _, label in items])
    return x, y


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def main():
    args = parse_args()
    train_items = list_split(os.path.join(args.data_dir, "train"))
    val_items = list_split(os.path.join(args.data_dir, "val"))
    print(f"found {len(train_items)} training and {len(val_items)} validation images in "
          f"{args.data_dir}", flush=True)
    rng = np.random.default_rng(0)
    w = np.zeros((64, 10), dtype=np.float32)
    b = np.zeros(10, dtype=np.float32)
    read_total = 0.0
    accuracy = 0.0
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        x, y = load(train_items)  # every epoch reads every file again
        read_s = time.perf_counter() - start
        read_total += read_s
        order = rng.permutation(len(y))
        loss = 0.0
        for i in range(0, len(y), args.batch_size):
            idx = order[i:i + args.batch_size]
            p = softmax(x[idx] @ w + b)
            loss += -np.log(p[np.arange(len(idx)), y[idx]] + 1e-9).sum()
            p[np.arange(len(idx)), y[idx]] -= 1
            w -= args.learning_rate * x[idx].T @ p / len(idx)
            b -= args.learning_rate * p.mean(axis=0)
        xv, yv = load(val_items)
        accuracy = float((np.argmax(xv @ w + b, axis=1) == yv).mean())
        print(f"epoch={epoch} read_seconds={read_s:.3f} loss={loss / len(y):.4f} "
              f"val_accuracy={accuracy:.4f}", flush=True)
    os.makedirs(args.train_url, exist_ok=True)
    np.savez(os.path.join(args.train_url, "model.npz"), w=w, b=b)
    metrics = {"val_accuracy": accuracy, "epochs": args.epochs,
               "train_images": len(train_items), "read_seconds_total": round(read_total, 3)}
    with open(os.path.join(args.train_url, "metrics.json"), "w") as fh:
        json.dump(metrics, fh)
    print(f"done: {json.dumps(metrics)}", flush=True)


if __name__ == "__main__":
    main()
