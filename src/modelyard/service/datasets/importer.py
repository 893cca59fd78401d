"""Importing samples from object storage into a dataset (issue 18).

Three layouts, as ModelArts imports them:
- **a manifest file** (``import_path`` names a ``.manifest`` object): each line's ``source``
  and ``annotation`` list are taken as they are (sources relative to the manifest's folder
  are resolved against it, ``/bucket/key`` is ``obs://bucket/key``);
- **one folder per label** (classification types): ``<path>/<label>/<file>``; files at the
  top of the path are imported unlabelled;
- **PASCAL VOC** (object detection): ``x.jpg`` with ``x.xml`` beside it.

Bad data is reported, not swallowed: files that are not samples of the dataset's type,
unreadable files (empty, or not an image for image types) and broken annotation files are
counted and their first paths listed; everything else is imported.
"""

from __future__ import annotations

import posixpath
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelyard.service.datasets.records import ImportReport, ProblemFile
from modelyard.spec.dataset_types import (
    ANNOTATION_TYPES,
    SAMPLE_SUFFIXES,
    DatasetType,
    image_content_ok,
    is_image_type,
)
from modelyard.spec.errors import SpecError
from modelyard.spec.manifest import (
    classification_annotation,
    detection_annotation,
    parse_manifest,
)
from modelyard.spec.paths import Location, parse_location
from modelyard.storage import TransferEngine

MAX_PROBLEMS_LISTED = 20
MAX_ANNOTATION_BYTES = 1 << 20
MAX_MANIFEST_BYTES = 256 << 20
FOLDER_LABEL_TYPES = frozenset({DatasetType.IMAGE_CLASSIFICATION,
                                DatasetType.TEXT_CLASSIFICATION,
                                DatasetType.SOUND_CLASSIFICATION})


@dataclass
class NewSample:
    source: str
    annotations: list[dict[str, Any]]
    labels: list[str]


@dataclass
class ImportOutcome:
    """What one import found: the samples to add and every file it could not use."""

    samples: list[NewSample] = field(default_factory=list)
    not_samples: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    broken_annotations: list[str] = field(default_factory=list)

    def report(self) -> ImportReport:
        problems = (
            [ProblemFile(path=p, reason="not a sample of this dataset's type")
             for p in self.not_samples]
            + [ProblemFile(path=p, reason="unreadable (empty, or not the file type its name "
                           "says)") for p in self.unreadable]
            + [ProblemFile(path=p, reason="broken annotation") for p in self.broken_annotations]
        )
        return {
            "not_sample_count": len(self.not_samples),
            "unreadable_count": len(self.unreadable),
            "broken_annotation_count": len(self.broken_annotations),
            "problems": problems[:MAX_PROBLEMS_LISTED],
        }


def now_text() -> str:
    """ModelArts' ``creation-time`` format."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())


def run_import(engine: TransferEngine, kind: DatasetType, import_path: str,
               with_annotations: bool) -> ImportOutcome:
    """Scans ``import_path`` (a folder, or a manifest file) and returns what to import."""
    loc = parse_location(import_path)
    if not loc.is_dir and loc.key.endswith(".manifest"):
        return _from_manifest(engine, kind, loc, with_annotations)
    return _from_folder(engine, kind, loc.as_dir(), with_annotations)


def _suffix(name: str) -> str:
    return posixpath.splitext(name)[1].lower()


def _is_sample_name(kind: DatasetType, name: str) -> bool:
    allowed = SAMPLE_SUFFIXES[kind]
    return allowed is None or _suffix(name) in allowed


def _from_folder(engine: TransferEngine, kind: DatasetType, root: Location,
                 with_annotations: bool) -> ImportOutcome:
    out = ImportOutcome()
    infos = [i for i in engine.list(root) if not i.key.endswith("/")]
    with tempfile.TemporaryDirectory(prefix="modelyard-import-") as tmp:
        local = Path(tmp)
        needs_content = is_image_type(kind)
        if needs_content and infos:  # one parallel, cached download instead of N requests
            engine.download(root, local)
        rels = {i.key[len(root.key):]: i for i in infos}
        for rel, info in sorted(rels.items()):
            try:
                url = root.child(rel).url
            except SpecError:  # a key with '..' or empty parts never becomes a sample
                out.unreadable.append(f"{root.url}{rel}")
                continue
            if kind is DatasetType.OBJECT_DETECTION and _suffix(rel) == ".xml":
                continue  # read below, with its image
            if not _is_sample_name(kind, rel):
                out.not_samples.append(url)
                continue
            if info.size == 0 or (needs_content and not _looks_like_image(local / rel)):
                out.unreadable.append(url)
                continue
            annotations, labels = _annotations_for(kind, root, rel, rels, local, out,
                                                   with_annotations)
            out.samples.append(NewSample(url, annotations, labels))
    return out


def _looks_like_image(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return image_content_ok(f.read(16))
    except OSError:
        return False


def _annotations_for(kind: DatasetType, root: Location, rel: str, rels: dict[str, Any],
                     local: Path, out: ImportOutcome, with_annotations: bool
                     ) -> tuple[list[dict[str, Any]], list[str]]:
    if not with_annotations:
        return [], []
    if kind in FOLDER_LABEL_TYPES and "/" in rel:
        label = rel.split("/", 1)[0]
        return [classification_annotation(kind, label, now_text())], [label]
    if kind is DatasetType.OBJECT_DETECTION:
        xml_rel = posixpath.splitext(rel)[0] + ".xml"
        if xml_rel not in rels:
            return [], []
        xml_url = root.child(xml_rel).url
        try:
            labels = voc_labels((local / xml_rel).read_bytes())
        except (OSError, SpecError):
            out.broken_annotations.append(xml_url)
            return [], []
        return [detection_annotation(xml_url, now_text())], labels
    return [], []


def voc_labels(data: bytes) -> list[str]:
    """The object names of a PASCAL VOC file; SpecError when it is not one (no
    ``annotation`` root, an object without a name, or a box whose corners are not numbers
    with min < max)."""
    if len(data) > MAX_ANNOTATION_BYTES:
        raise SpecError("annotation", len(data), "a PASCAL VOC file is at most 1 MiB")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise SpecError("annotation", str(exc), "not well-formed XML") from None
    if root.tag != "annotation":
        raise SpecError("annotation", root.tag, "a PASCAL VOC file has an <annotation> root")
    labels = []
    for obj in root.iter("object"):
        name = (obj.findtext("name") or "").strip()
        if not name:
            raise SpecError("annotation.object.name", None, "every object has a name")
        box = obj.find("bndbox")
        if box is None:
            raise SpecError("annotation.object.bndbox", name, "every object has a bndbox")
        try:
            x0, y0, x1, y1 = (float(box.findtext(k) or "") for k in
                              ("xmin", "ymin", "xmax", "ymax"))
        except ValueError:
            raise SpecError("annotation.object.bndbox", name,
                            "xmin, ymin, xmax and ymax are numbers") from None
        if not (x0 < x1 and y0 < y1):
            raise SpecError("annotation.object.bndbox", name, "xmin < xmax and ymin < ymax")
        labels.append(name)
    return labels


def _resolve_source(text: str, manifest: Location) -> Location:
    """A manifest's ``source`` or ``annotation-loc``: a URL, ``/bucket/key``, or a path
    relative to the manifest's folder (ours). Host paths are refused."""
    if "://" in text or text.startswith("/"):
        loc = parse_location(text, "source")
    else:
        folder = manifest.key.rsplit("/", 1)[0] + "/" if "/" in manifest.key else ""
        loc = parse_location(Location(manifest.scheme, manifest.bucket, folder).url
                             + text, "source")
    if loc.scheme == "file":
        raise SpecError("source", text, "a manifest source is in object storage, not a "
                        "path on the server")
    return loc


def _from_manifest(engine: TransferEngine, kind: DatasetType, manifest: Location,
                   with_annotations: bool) -> ImportOutcome:
    out = ImportOutcome()
    with tempfile.TemporaryDirectory(prefix="modelyard-import-") as tmp:
        infos = engine.list(manifest)
        if not infos or infos[0].key != manifest.key:
            raise SpecError("import_path", manifest.url, "no such manifest file")
        if infos[0].size > MAX_MANIFEST_BYTES:
            raise SpecError("import_path", manifest.url, "a manifest is at most 256 MiB")
        engine.copy(manifest.url, str(Path(tmp) / "in.manifest"))
        text = (Path(tmp) / "in.manifest").read_text(encoding="utf-8", errors="replace")
    lines, broken = parse_manifest(text)
    out.broken_annotations.extend(f"{manifest.url}: {b}" for b in broken)
    wanted = ANNOTATION_TYPES.get(kind)
    for line in lines:
        try:
            loc = _resolve_source(line.source, manifest)
        except SpecError as exc:
            out.unreadable.append(f"{line.source} ({exc.rule})")
            continue
        if not _is_sample_name(kind, loc.key):
            out.not_samples.append(loc.url)
            continue
        found = engine.list(loc)
        if not found or found[0].key != loc.key or found[0].size == 0:
            out.unreadable.append(loc.url)
            continue
        annotations: list[dict[str, Any]] = []
        labels: list[str] = []
        if with_annotations:
            raw = line.raw.get("annotation") or []
            if any(a.get("type") != wanted for a in raw):
                out.broken_annotations.append(
                    f"{loc.url}: annotation type is not {wanted or 'allowed for this type'}")
            else:
                try:
                    annotations = [_absolute_loc(a, manifest) for a in raw]
                except SpecError:
                    out.broken_annotations.append(f"{loc.url}: bad annotation-loc")
                    annotations = []
                labels = line.labels if annotations else []
        out.samples.append(NewSample(loc.url, annotations, labels))
    return out


def _absolute_loc(annotation: dict[str, Any], manifest: Location) -> dict[str, Any]:
    loc = annotation.get("annotation-loc")
    if not isinstance(loc, str):
        return dict(annotation)
    return {**annotation, "annotation-loc": _resolve_source(loc, manifest).url}
