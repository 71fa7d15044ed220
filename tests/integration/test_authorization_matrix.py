"""The authorization matrix: every chat command and web route tried as seven people on a
real database; what is enforced must be what the command table declares, and what
docs/security.md shows."""

from __future__ import annotations

from pathlib import Path

import authz
from bots.commands import COMMANDS

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
_RUN: dict[str, tuple[list[authz.Row], list[authz.Row]]] = {}


async def enforced() -> tuple[list[authz.Row], list[authz.Row]]:
    """The matrix, run once for this module (it tries some 450 messages)."""
    if "rows" not in _RUN:
        _RUN["rows"] = await authz.matrix()
    return _RUN["rows"]


async def test_every_gom_command_is_enforced_as_its_declared_permission() -> None:
    commands, _ = await enforced()

    wrong = [
        f"{row.name} as {authz.PERSONAS[n][0]}: {'allowed' if row.allowed[n] else 'refused'}"
        for row, entry in zip(commands, COMMANDS.values(), strict=True)
        for n in range(len(authz.PERSONAS))
        if (want := authz.expected(entry, n)) is not None and row.allowed[n] != want
    ]

    assert [row.name for row in commands] == [f"/{name}" for name in COMMANDS]
    assert wrong == []


async def test_nobody_reaches_a_private_route_without_its_link_or_signature() -> None:
    _, routes = await enforced()

    assert {row.name for row in routes} == set(authz.ROUTES)
    assert [row.name for row in routes if row.allowed[0]] == ["GET /health", "GET /healthz", "GET /readyz"]


async def test_docs_security_md_shows_what_is_enforced() -> None:
    table = authz.markdown(*await enforced())
    written = DOC.read_text(encoding="utf-8")

    assert authz.replace_in(written, table) == written, "run: gomflow matrix --write docs/security.md"
