"""Writes scikit-learn's bundled digits data as npz parts (no network needed)."""

import argparse
import os

import numpy as np
from sklearn.datasets import load_digits


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", help="folder to write part-*.npz into")
    parser.add_argument("--parts", type=int, default=2, help="how many parts to split into")
    parser.add_argument("--only", type=int, default=None, help="write only this part index")
    args = parser.parse_args()
    digits = load_digits()
    os.makedirs(args.out, exist_ok=True)
    for i, idx in enumerate(np.array_split(np.arange(len(digits.target)), args.parts)):
        if args.only is None or args.only == i:
            np.savez(os.path.join(args.out, f"part-{i}.npz"), X=digits.data[idx],
                     y=digits.target[idx])


if __name__ == "__main__":
    main()
