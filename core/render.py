"""How the core and the adapters ask for a message without knowing the template engine.

The engine (jinja2, in ``templates/``) is plugged in by the composition root, so the
core stays free of presentation libraries.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Markup = Literal["plain", "html", "markdown"]


def N_(message: str) -> str:
    """A message kept as a constant and said where it is shown, in the reader's language
    (``pybabel extract`` finds it by this name)."""
    return message


class Phrase(str):
    """A value that is itself a phrase of the catalogues (a field's label, "Capacity"), said
    in the reader's language where it fills a message or a template prints it, not as
    written. It may have values of its own: ``Phrase(N_("manual, or %(gateways)s"),
    {"gateways": "stripe"})`` reads as the English filled in, and is translated whole."""

    message: str
    values: Mapping[str, object]

    def __new__(cls, message: str, values: Mapping[str, object] | None = None) -> Phrase:
        phrase = super().__new__(cls, message % values if values else message)
        phrase.message, phrase.values = message, dict(values or {})
        return phrase

    def said(self, translate: Callable[[str], str]) -> str:
        """This phrase in the language ``translate`` writes, its own phrases included."""
        values = {k: v.said(translate) if isinstance(v, Phrase) else v for k, v in self.values.items()}
        return filled(self.message, values, translate(self.message))


def filled(message: str, values: Mapping[str, object], translated: str | None = None) -> str:
    """``translated`` (``message`` in some language) filled with ``values``; the English
    when the translation's placeholders are not the message's (a catalogue test fails on
    it first), so a broken translation never reaches anyone."""
    try:
        return (translated or message) % values if values else (translated or message)
    except (KeyError, ValueError, TypeError):
        return message % values if values else message


@dataclass(frozen=True)
class Rendered:
    text: str
    markup: Markup = "plain"
    html: str | None = None  # an HTML alternative, for email
    unsubscribe_url: str | None = None  # this recipient's one-click unsubscribe link (promotional email)


class Renderer(Protocol):
    def render(
        self, template: str, channel: str, context: Mapping[str, Any], language: str = "en"
    ) -> Rendered:
        """Render ``template`` in the variant that suits ``channel`` (falling back to plain
        text), in ``language`` where its catalogue has the message (else in English).

        Raises KeyError when no variant of the template exists at all.
        """
        ...

    def page(self, name: str, context: Mapping[str, Any], language: str = "en") -> str:
        """A web page (``templates/pages/<name>.html.j2``) in ``language``, as HTML."""
        ...

    def translate(self, message: str, language: str) -> str:
        """A phrase written in code (a command's summary, a button) in ``language``, where
        its catalogue has it; the phrase itself otherwise."""
        ...

    def said(self, message: str, language: str, values: Mapping[str, object] | None = None) -> str:
        """``message`` (``N_``, a button's label, an error's ``text``) in ``language``,
        filled with ``values`` (a ``Phrase`` among them said in ``language`` too):
        ``renderer.said(error.text, language, error.values)``."""
        ...


def split_text(text: str, limit: int) -> list[str]:
    """Cut a long message into parts of at most ``limit`` characters, at line breaks.

    A single line longer than the limit is cut at its last space before the limit (or
    hard, when it has none). Markup that spans lines is the template's business.
    """
    if len(text) <= limit and not text.startswith("\n"):  # most: what the loop gives back whole
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:cut])
            line = line[cut:].lstrip(" ")
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            candidate = line
        current = candidate
    if current.strip() or not parts:
        parts.append(current)
    return [part for part in parts if part.strip()] or [text[:limit]]


_TAG = re.compile(r"<[^>]+>")
_TAG_NAME = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^>]*>")


def html_to_plain(marked_up: str) -> str:
    """HTML as the plain text a person would read."""
    return html.unescape(_TAG.sub("", marked_up))


def html_balanced(part: str) -> bool:
    """Whether every tag opened in ``part`` is closed in it, in order."""
    open_tags: list[str] = []
    for closing, name in _TAG_NAME.findall(part):
        if not closing:
            open_tags.append(name.lower())
        elif not open_tags or open_tags.pop() != name.lower():
            return False
    return not open_tags


def split_message(message: Rendered, limit: int) -> list[Rendered]:
    """``split_text`` for a rendered message; HTML whose cut fell inside a tag that spans
    lines (a description with line breaks) goes as plain text rather than be refused."""
    parts = split_text(message.text, limit)
    if message.markup == "html" and not all(map(html_balanced, parts)):
        return [Rendered(part) for part in split_text(html_to_plain(message.text), limit)]
    return [Rendered(part, message.markup) for part in parts]
