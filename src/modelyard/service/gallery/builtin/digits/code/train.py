"""Digits classifier written the ModelArts way: argparse, --data_url, --train_url, typed
hyperparameters, a checkpoint per epoch that a later run resumes from (seed S7).

It knows nothing about ModelYard: the same file runs on ModelArts unchanged.
"""

import argparse
import glob
import json
import os
import pickle
import time

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier


def str2bool(text):
    return str(text).lower() in ("true", "1", "yes")


def parse_args():
    parser = argparse.ArgumentParser(description="digits training")
    parser.add_argument("--data_url", required=True, help="folder of *.npz files with X, y")
    parser.add_argument("--train_url", required=True, help="folder for checkpoint and model")
    parser.add_argument("--learning_rate", type=float, default=0.001)
    parser.add_argument("--hidden_size", type=int, default=64)
    parser.add_argument("--activation", type=str, default="relu")
    parser.add_argument("--epochs", type=int, default=20, help="total epochs, across resumes")
    parser.add_argument("--shuffle", type=str2bool, default=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epoch_sleep", type=float, default=0.0, help="slow down, for demos")
    args, unknown = parser.parse_known_args()  # the platform may add arguments
    if unknown:
        print(f"ignoring unknown arguments: {unknown}")
    return args


def load_data(folder):
    files = sorted(glob.glob(os.path.join(folder, "**", "*.npz"), recursive=True))
    if not files:
        raise SystemExit(f"no .npz data files in {folder}")
    parts = [np.load(f) for f in files]
    x = np.concatenate([p["X"] for p in parts]).astype(np.float64) / 16.0
    y = np.concatenate([p["y"] for p in parts])
    print(f"loaded {len(y)} samples from {len(files)} files")
    return x, y


def save_atomic(obj, path):
    tmp = path + ".tmp"
    with open(tmp, "wb") as fh:
        pickle.dump(obj, fh)
    os.replace(tmp, path)


def main():
    args = parse_args()
    x, y = load_data(args.data_url)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=args.seed, stratify=y
    )
    ckpt_dir = os.path.join(args.train_url, "checkpoint")
    model_dir = os.path.join(args.train_url, "model")
    os.makedirs(ckpt_dir, exist_ok=True)
    os.makedirs(model_dir, exist_ok=True)
    ckpt_path = os.path.join(ckpt_dir, "checkpoint.pkl")

    start_epoch = 0
    if os.path.exists(ckpt_path):
        with open(ckpt_path, "rb") as fh:
            ckpt = pickle.load(fh)
        model, start_epoch = ckpt["model"], ckpt["epoch"]
        print(f"resumed from checkpoint at epoch {start_epoch}")
    else:
        model = MLPClassifier(
            hidden_layer_sizes=(args.hidden_size,),
            activation=args.activation,
            learning_rate_init=args.learning_rate,
            random_state=args.seed,
            shuffle=args.shuffle,
        )
    classes = np.arange(10)
    rng = np.random.default_rng(args.seed)
    accuracy = 0.0
    for epoch in range(start_epoch + 1, args.epochs + 1):
        order = rng.permutation(len(y_train)) if args.shuffle else np.arange(len(y_train))
        for batch in np.array_split(order, max(1, len(order) // 64)):
            model.partial_fit(x_train[batch], y_train[batch], classes=classes)
        accuracy = float(model.score(x_test, y_test))
        print(f"epoch={epoch} loss={model.loss_:.4f} accuracy={accuracy:.4f}", flush=True)
        save_atomic({"epoch": epoch, "model": model}, ckpt_path)
        if args.epoch_sleep:
            time.sleep(args.epoch_sleep)
    if start_epoch >= args.epochs:
        accuracy = float(model.score(x_test, y_test))
    save_atomic(model, os.path.join(model_dir, "model.pkl"))
    with open(os.path.join(model_dir, "metrics.json"), "w") as fh:
        json.dump({"accuracy": accuracy, "epochs": max(args.epochs, start_epoch),
                   "samples": len(y)}, fh)
    print(f"accuracy={accuracy:.4f}")


if __name__ == "__main__":
    main()
