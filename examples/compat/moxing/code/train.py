"""A ModelArts training script in the MoXing style: it copies its data from OBS to local
disk with ``mox.file``, trains, and copies its results back to OBS."""

import argparse
import os
import tempfile

import moxing as mox

parser = argparse.ArgumentParser()
parser.add_argument("--data_obs", required=True)
parser.add_argument("--out_obs", required=True)
parser.add_argument("--epochs", type=int, default=1)
parser.add_argument("--data_url")
parser.add_argument("--train_url")
args, _ = parser.parse_known_args()

print("files on OBS:", mox.file.list_directory(args.data_obs, recursive=True))
local = tempfile.mkdtemp()
mox.file.copy_parallel(args.data_obs, local)
rows = []
for name in sorted(os.listdir(local)):
    with open(os.path.join(local, name)) as fh:
        rows += [line.split(",") for line in fh.read().split()]
total = sum(float(value) for row in rows for value in row)
for epoch in range(1, args.epochs + 1):
    print(f"epoch={epoch} rows={len(rows)} total={total:g}")

model_dir = args.out_obs.rstrip("/") + "/model"
if not mox.file.exists(model_dir):
    mox.file.make_dirs(model_dir)
mox.file.write(model_dir + "/model.txt", f"total={total:g}\n")
with mox.file.File(args.out_obs.rstrip("/") + "/metrics.txt", "w") as fh:
    fh.write(f"rows={len(rows)}\n")
print(os.environ.get("GREETING", ""), "- saved", mox.file.list_directory(args.out_obs,
                                                                         recursive=True))
