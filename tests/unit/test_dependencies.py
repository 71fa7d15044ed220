"""Every runtime dependency is bounded below its next major version, so a breaking release
of a library is an upgrade someone chose, not something the next install picks up."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Versioned by calendar (the IANA time zone release): the newest is always the one wanted.
CALENDAR_VERSIONED = {"tzdata"}


def unbounded(requirements: list[str]) -> list[str]:
    """The requirements with no upper bound on their version (``<``), calendar ones aside."""
    found = []
    for requirement in requirements:
        name = re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower()
        if name not in CALENDAR_VERSIONED and not re.search(r"<(?!=)\s*\d", requirement):
            found.append(requirement)
    return found


def test_every_runtime_dependency_has_an_upper_bound() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert len(project["dependencies"]) >= 10
    assert unbounded(project["dependencies"]) == []


def test_bound_check_sees_a_missing_bound() -> None:
    assert unbounded(["stripe>=16", "stripe>=16,<17", "tzdata>=2024.1", "aiohttp<=4", "x[y]>=1,<2"]) == [
        "stripe>=16",
        "aiohttp<=4",
    ]
