"""Which project a bucket belongs to (issue 14): the first project to use a bucket, by
uploading to it or by naming it in a job, claims it; other projects are refused it.

Enforced only when the installation has keys: in keyless mode there is one user, and
isolating their own projects from each other would only get in their way. Admins may use
any bucket (a bucket they touch first is still claimed for the project they act in).
``file://`` locations are not buckets (the administrator's roots govern them, issue 13).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from modelyard.service.errors import Forbidden
from modelyard.service.identity import current_caller
from modelyard.spec.paths import Location
from modelyard.store.db import Database
from modelyard.store.identity_models import BucketRow


class BucketOwners:
    def __init__(self, db: Database, enforced: Callable[[], bool]) -> None:
        self.db = db
        self.enforced = enforced

    def claim(self, project: str, locations: Iterable[Location], field: str = "url") -> None:
        """Each bucket of ``locations`` belongs to ``project`` afterwards, or Forbidden."""
        if not self.enforced():
            return
        caller = current_caller()
        for loc in locations:
            if loc.scheme == "file":
                continue
            owner = self._owner(loc.scheme, loc.bucket)
            if owner is None:
                try:
                    with self.db.session() as s:
                        s.add(BucketRow(scheme=loc.scheme, name=loc.bucket, project_id=project,
                                        created_at=time.time()))
                    continue
                except IntegrityError:  # claimed by a concurrent request
                    owner = self._owner(loc.scheme, loc.bucket)
            if owner != project and not caller.is_admin:
                raise Forbidden(f"{field}: {loc.scheme}://{loc.bucket}/ is not allowed: the "
                                "bucket belongs to another project")

    def _owner(self, scheme: str, bucket: str) -> str | None:
        with self.db.session() as s:
            row = s.get(BucketRow, (scheme, bucket))
        return row.project_id if row is not None else None

    def visible(self, project: str, scheme: str, names: Iterable[str]) -> list[str]:
        """The buckets of ``names`` that ``project`` may see (all of them without keys)."""
        names = list(names)
        if not self.enforced():
            return names
        with self.db.session() as s:
            mine = set(s.scalars(select(BucketRow.name).where(
                BucketRow.scheme == scheme, BucketRow.project_id == project)))
        return [n for n in names if n in mine]
