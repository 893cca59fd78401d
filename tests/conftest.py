"""Shared fixtures. Each fixture module under tests/fixtures/ is owned by one area."""

pytest_plugins = [
    "fixtures.home",
    "fixtures.jobs",
    "fixtures.seaweed",
    "fixtures.server",
    "fixtures.images",
]
