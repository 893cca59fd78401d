"""A SageMaker script-mode training script in the style of the SageMaker scikit-learn
examples: hyperparameters as arguments, folders from the SM_* variables."""

import argparse
import json
import os

import joblib
import numpy as np
from sklearn.ensemble import RandomForestClassifier

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n_estimators", type=int, default=10)
    parser.add_argument("--max_leaf_nodes", type=int, default=4)
    parser.add_argument("--model-dir", type=str, default=os.environ["SM_MODEL_DIR"])
    parser.add_argument("--train", type=str, default=os.environ["SM_CHANNEL_TRAIN"])
    parser.add_argument("--output-data-dir", type=str, default=os.environ["SM_OUTPUT_DATA_DIR"])
    args, _ = parser.parse_known_args()

    files = [os.path.join(args.train, f) for f in sorted(os.listdir(args.train))]
    data = np.concatenate([np.loadtxt(f, delimiter=",", ndmin=2) for f in files])
    model = RandomForestClassifier(n_estimators=args.n_estimators,
                                   max_leaf_nodes=args.max_leaf_nodes, random_state=0)
    model.fit(data[:, :-1], data[:, -1])
    joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
    accuracy = float(model.score(data[:, :-1], data[:, -1]))
    with open(os.path.join(args.output_data_dir, "metrics.json"), "w") as fh:
        json.dump({"accuracy": accuracy}, fh)
    print(f"trained on {len(data)} rows with {args.n_estimators} trees: accuracy={accuracy:.3f}")
