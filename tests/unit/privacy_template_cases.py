"""Render cases for the personal-data messages, added to test_templates.CASES."""

from __future__ import annotations

from typing import Any

PRIVACY_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("my_data", {"filename": "gomflow-data-7.zip"}, ["gomflow-data-7.zip", "/forgetme"]),
    ("forget_ask", {"buyer": None}, ["cannot be undone", "/mydata"]),
    ("forget_ask", {"buyer": "SVT-FML-2"}, ["SVT-FML-2", "written request"]),
    ("forget_ask", {"buyer": "usage"}, ["Usage: /forgetbuyer ORDER"]),
    ("forgotten", {"buyer": None, "number": 7}, ["erased buyer #7", "start afresh"]),
    ("forgotten", {"buyer": "SVT-FML-2", "number": 9}, ["SVT-FML-2", "erased buyer #9"]),
]
