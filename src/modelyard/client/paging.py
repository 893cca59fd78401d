"""Every record of a paged listing, one page request at a time.

The server's lists (algorithms, job searches, events, gallery assets) all answer
``{total, <items key>: [...]}`` for an ``offset`` and a ``limit``. Reading all of them is
the same loop everywhere, so it is written once: ask from the number already read, stop at
an empty page (the list shrank while we read) or once ``total`` is reached.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

Page = Mapping[str, Any]


def every_item(fetch: Callable[[int], Page], key: str = "items") -> Iterator[dict[str, Any]]:
    """Yields the records of every page; ``fetch(offset)`` asks for the page at ``offset``
    (its limit is the caller's: each endpoint has its own maximum) and ``key`` names the
    page's list (``items`` for most lists, ``events`` for a job's events)."""
    read = 0
    while True:
        page = fetch(read)
        items = page[key]
        yield from items
        read += len(items)
        if not items or read >= page["total"]:
            return
