"""Render cases for the team's templates (roles, /helpers) and a GOM's /defaults, for test_templates."""

from __future__ import annotations

from typing import Any

from core.services.team import Team, TeamMember

TEAM = Team(
    "Gina",
    (
        TeamMember("Gina", "owner", ("telegram @gina",)),
        TeamMember("민지 <b>", "manager", ()),
        TeamMember("Hana", "helper", ("telegram @hana", "discord @hana")),
    ),
)

TEAM_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("helper_changed", {"name": "Mia", "added": True, "role": "manager"}, ["As a manager: everything but"]),
    (
        "team_list",
        {"teams": [TEAM]},
        ["Gina's team:", "• 민지 <b> — manager", "• Hana — helper (telegram @hana, discord @hana)"],
    ),
    ("team_role_set", {"name": "Hana", "role": "manager"}, ["Hana is now a manager"]),
    ("team_role_set", {"name": "Hana", "role": "helper"}, ["no refunds, no cancelling a GO, no broadcasts"]),
    ("gom_defaults", {"limit": 2, "changed": True}, ["Done: ", "at most 2 per buyer"]),
    ("gom_defaults", {"limit": None, "changed": False}, ["no per-buyer limit", "/defaults limit N"]),
]
