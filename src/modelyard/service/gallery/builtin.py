"""The assets a fresh install ships: the digits classifier, published once by the
``modelyard`` project under a fixed content_id so that every project can subscribe to it
and train with no code (seed S1.1).

The files live in the package (``builtin/<name>/``); ``tests/service/gallery`` checks they
match ``examples/digits``, which is where the example is developed.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from modelyard.service.errors import Conflict
from modelyard.service.gallery.service import GalleryService, NewVersion
from modelyard.spec.errors import SpecError
from modelyard.spec.loader import parse_algorithm, read_document
from modelyard.store.gallery_models import GalleryAssetRow

log = logging.getLogger("modelyard.gallery")

BUILTIN = Path(__file__).with_name("builtin")
PUBLISHER = "modelyard"
DIGITS_ID = "modelyard-digits"


def ensure_builtin_assets(gallery: GalleryService) -> None:
    """Publishes the digits asset unless it exists (withdrawn counts as existing: an
    operator who withdrew it keeps it withdrawn). Two processes racing here both try; the
    second loses on the asset's primary key and leaves the first one's asset alone."""
    with gallery.db.session() as s:
        if s.get(GalleryAssetRow, DIGITS_ID) is not None:
            return
    folder = BUILTIN / "digits"
    try:
        data = read_document(folder / "algorithm.yaml")
        data["job_config"]["code_dir"] = f"file://{folder / 'code'}/"
        gallery.add_version(NewVersion(
            algorithm=parse_algorithm(data), source_algorithm_id="builtin:digits",
            content_id=DIGITS_ID, publisher=PUBLISHER, version_num="1.0.0",
            desc="Shipped with ModelYard"))
    except (IntegrityError, Conflict):
        log.info("the built-in digits asset was published by another process")
    except (OSError, SpecError) as exc:  # a broken install: the gallery works without it
        log.warning("could not publish the built-in digits asset: %s", exc)
