"""every_item: the one loop that reads a paged listing to its end."""

from __future__ import annotations

from typing import Any

from modelyard.client.paging import every_item


def pages_of(records: list[int], limit: int, asked: list[int],
             key: str = "items") -> Any:
    def fetch(offset: int) -> dict[str, Any]:
        asked.append(offset)
        return {"total": len(records), key: records[offset:offset + limit]}
    return fetch


def test_reads_every_page_from_the_count_already_read() -> None:
    asked: list[int] = []
    assert list(every_item(pages_of(list(range(120)), 50, asked))) == list(range(120))
    assert asked == [0, 50, 100]


def test_an_exact_multiple_needs_no_extra_request() -> None:
    asked: list[int] = []
    assert list(every_item(pages_of(list(range(100)), 50, asked))) == list(range(100))
    assert asked == [0, 50]


def test_an_empty_list_is_one_request() -> None:
    asked: list[int] = []
    assert list(every_item(pages_of([], 50, asked))) == []
    assert asked == [0]


def test_the_list_key_is_the_callers() -> None:
    asked: list[int] = []
    assert list(every_item(pages_of([1, 2, 3], 2, asked, "events"), "events")) == [1, 2, 3]
    assert asked == [0, 2]


def test_stops_at_an_empty_page_when_the_list_shrank_while_read() -> None:
    """``total`` said 10 but only 4 remain: an empty page ends the loop, it does not spin."""
    asked: list[int] = []

    def fetch(offset: int) -> dict[str, Any]:
        asked.append(offset)
        return {"total": 10, "items": [0, 1, 2, 3][offset:offset + 3]}

    assert list(every_item(fetch)) == [0, 1, 2, 3]
    assert asked == [0, 3, 4]


def test_pages_are_asked_for_lazily() -> None:
    asked: list[int] = []
    first = next(every_item(pages_of(list(range(120)), 50, asked)))
    assert (first, asked) == (0, [0])
