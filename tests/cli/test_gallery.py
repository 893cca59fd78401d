"""``modelyard gallery`` as a user meets it (embedded service on the test's home)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fixtures.server import algorithm_body, write_code

from .clikit import cli, fresh_context  # noqa: F401  (an autouse fixture)


@pytest.mark.slow
def test_publish_subscribe_train(tmp_path: Path) -> None:
    algo = tmp_path / "algo.json"
    algo.write_text(json.dumps(algorithm_body("tiny", write_code(tmp_path))))
    assert cli("algorithm", "create", "-f", str(algo))[0] == 0
    code, out = cli("gallery", "publish", "tiny", "--desc", "first")
    assert code == 0 and "as version 1.0.0" in out
    content_id = re.search(r"of asset (\S+)", out).group(1)  # type: ignore[union-attr]
    code, out = cli("gallery", "list")
    assert code == 0 and "tiny" in out and "digits" in out
    code, out = cli("gallery", "show", content_id)
    assert code == 0 and "version 1.0.0" in out and "epochs" in out and "train_url" in out
    assert json.loads(cli("gallery", "show", content_id, "--json")[1])["name"] == "tiny"
    code, out = cli("gallery", "subscribe", content_id)
    assert code == 0 and "Subscribed to tiny" in out
    sub_id = re.search(r"subscription (\S+)", out).group(1)  # type: ignore[union-attr]
    assert sub_id in cli("gallery", "subscriptions")[1]

    code, out = cli("gallery", "train", sub_id, "-p", "epochs=3",
                    "-o", "train_url=obs://demo/gallery/out/", "--wait")
    assert code == 0, out
    assert "from tiny version 1.0.0" in out and "epoch 2 loss=0.333" in out

    code, out = cli("gallery", "train", sub_id, "-p", "momentum=0.9",
                    "-o", "train_url=obs://demo/gallery/o2/")
    assert code == 2
    assert "algorithm.parameters[0].name: 'momentum' is not allowed" in out
    assert "Traceback" not in out
    code, out = cli("gallery", "train", sub_id, "--version", "9.9")
    assert code == 2 and "--version: '9.9' is not allowed" in out

    version_id = json.loads(cli("gallery", "show", content_id, "--json")[1])[
        "versions"][0]["version_id"]
    code, out = cli("gallery", "withdraw", content_id, version_id)
    assert code == 0 and "Withdrew version 1.0.0" in out
    code, out = cli("gallery", "train", sub_id, "-o", "train_url=obs://demo/gallery/o3/")
    assert code == 2 and "every version was withdrawn" in out
    assert cli("gallery", "unsubscribe", sub_id)[0] == 0
    assert sub_id not in cli("gallery", "subscriptions")[1]
