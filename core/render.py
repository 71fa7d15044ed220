"""How the core and the adapters ask for a message without knowing the template engine.

The engine (jinja2, in ``templates/``) is plugged in by the composition root, so the
core stays free of presentation libraries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Markup = Literal["plain", "html", "markdown"]


@dataclass(frozen=True)
class Rendered:
    text: str
    markup: Markup = "plain"
    html: str | None = None  # an HTML alternative, for email


class Renderer(Protocol):
    def render(self, template: str, channel: str, context: Mapping[str, Any]) -> Rendered:
        """Render ``template`` in the variant that suits ``channel`` (falling back to plain text).

        Raises KeyError when no variant of the template exists at all.
        """
        ...
