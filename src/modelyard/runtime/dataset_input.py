"""Staging a dataset version into an input folder (issue 18, docs/contract.md "Datasets").

The runner has already downloaded the dataset's data source into the folder (one parallel,
cached transfer). This module fetches the version's manifest, fetches the samples (and
annotation files) that live outside the data source into ``.modelyard-external/``, and
writes the manifest at the top of the folder with every ``source`` and ``annotation-loc``
rewritten to the path the job sees, so local readers (MindSpore's ``ManifestDataset``,
a few lines of json) work unchanged.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from modelyard.runtime.report import StagingError
from modelyard.spec.errors import SpecError
from modelyard.spec.manifest import parse_manifest, rewrite_manifest
from modelyard.spec.paths import Location, parse_location, safe_relative_path
from modelyard.spec.plan import ChannelPlan
from modelyard.storage import TransferEngine

EXTERNAL = ".modelyard-external"


def stage_dataset(engine: TransferEngine, channel: ChannelPlan, host_dir: Path,
                  job_dir: Path) -> int:
    """Completes a dataset input in ``host_dir`` (seen by the job as ``job_dir``); returns
    the number of samples in the staged manifest."""
    ds = channel.dataset
    assert ds is not None
    root = parse_location(channel.url).as_dir()
    with tempfile.TemporaryDirectory(prefix="modelyard-manifest-") as tmp:
        local = Path(tmp) / "version.manifest"
        engine.copy(ds.manifest_url, str(local))
        text = local.read_text(encoding="utf-8")
    lines, broken = parse_manifest(text)
    if broken:
        raise StagingError(f"Input {channel.name}: the manifest {ds.manifest_url} is broken: "
                           f"{broken[0]}")
    mapping: dict[str, str] = {}
    for line in lines:
        for ref in (line.source, *line.annotation_locs):
            if ref in mapping:
                continue
            rel = _local_relative(ref, root)
            target = host_dir / rel
            if not target.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                engine.copy(parse_location(ref).url, str(target))
            mapping[ref] = str(job_dir / rel)
    (host_dir / ds.manifest_name).write_text(rewrite_manifest(text, mapping), encoding="utf-8")
    return len(lines)


def _local_relative(ref: str, root: Location) -> str:
    """Where a manifest reference lands in the input folder: its path below the data source,
    or ``.modelyard-external/<scheme>/<bucket>/<key>`` for anything elsewhere."""
    try:
        loc = parse_location(ref)
    except SpecError as exc:
        raise StagingError(f"manifest source {ref!r}: {exc.rule}") from None
    if loc.scheme == "file":
        raise StagingError(f"manifest source {ref!r}: a dataset's files are in object storage")
    rel = loc.relative_to(root)
    if not rel:
        rel = f"{EXTERNAL}/{loc.scheme}/{loc.bucket}/{loc.key}"
    try:
        return safe_relative_path(rel)
    except SpecError as exc:
        raise StagingError(f"manifest source {ref!r}: {exc.rule}") from None
