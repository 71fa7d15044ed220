"""Messages in each buyer's language: gettext catalogues, translated as templates compile.

Templates mark text with ``{{ _("Pay by %(due)s.", due=order.payment_due) }}`` (and
``ngettext`` for plurals); ``pybabel extract`` finds them, and each language's catalogue
is ``locale/<code>/LC_MESSAGES/messages.po`` beside this file. The ``.po`` files are read
and compiled in memory when a language is first used, so no binary is committed and an
edited catalogue needs no build step.

Each language has an environment of its own, so a constant message is translated once,
when a template compiles, and written into it as if it had been typed there: an order's
reply costs the same in Thai as in English. What is not a constant (``ngettext``, whose
form depends on a number) is looked up as it renders.
"""

from __future__ import annotations

import ast
import gettext
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import IO, Any

from babel import Locale
from babel.dates import format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream

from core.render import Phrase

log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"

_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")
_ANY_FORMAT = re.compile(r"%(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[a-zA-Z%]")


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The language's catalogue, compiled from its ``.po`` file; English (the source
    language) and a language without a catalogue translate nothing."""
    path = catalogue_path(language)
    if language == "en" or not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=language.replace("-", "_"), domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)  # fuzzy entries are left out, as pybabel compile leaves them
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


# how ``core.when.local_text`` writes a moment: "Tue 01 Dec 2026, 20:00 +08"
_LOCAL_TEXT = re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d\d [A-Z][a-z]{2} \d{4}, \d\d:\d\d (\S+)")


def written_in(language: str) -> Callable[[object], object]:
    """What a template prints, in ``language``: a ``Phrase`` a view carries ("to be set
    once weighed") as its catalogue says it, and a moment the core wrote in English
    (``local_text``) as the language writes dates: "2026年12月1日周二 20:00 +08". Jinja
    calls it on every ``{{ value }}`` of that language's templates (its ``finalize``),
    each placeholder of a translated message included; English needs none. Moments are
    written by the core before the language is known (a notification's values are stored
    with it), so they are recognised by their shape."""
    locale = Locale.parse(language.replace("-", "_"))
    catalogue = translations(language)

    def finalize(value: object) -> object:
        if type(value) is Phrase:
            return value.said(catalogue.gettext)
        if type(value) is not str or len(value) < 22 or (found := _LOCAL_TEXT.fullmatch(value)) is None:
            return value
        moment = datetime.strptime(value[: -len(found[1]) - 1], "%a %d %b %Y, %H:%M")
        day = format_skeleton("yMMMEd", moment, locale=locale)
        return f"{day} {moment:%H:%M} {found[1]}"

    return finalize


def extract_python(
    fileobj: IO[bytes], keywords: Mapping[str, Any], comment_tags: object, options: object
) -> Iterator[tuple[int, str, tuple[str | None, ...], list[str]]]:
    """pybabel's Python extractor, read off the syntax tree (``babel.cfg`` names it): a long
    message written across lines in parentheses, as the formatter writes one beside other
    arguments (``InvalidInput(("…" "…"), code=code)``), is one string to the tree, where
    babel's own token reader finds none. Each call of a keyword gives its positional
    arguments, a string or None each; pybabel picks the message among them by the keyword."""
    for node in sorted(
        (n for n in ast.walk(ast.parse(fileobj.read())) if isinstance(n, ast.Call)), key=lambda n: n.lineno
    ):
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if isinstance(name, str) and name in keywords and node.args:
            found = tuple(
                a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None
                for a in node.args
            )
            if any(found):
                yield node.lineno, name, found, []


def placeholders(message: str) -> set[str]:
    return {name for name in _PLACEHOLDER.findall(message) if name}


class CompiledTranslations(Extension):
    """Writes ``{{ _("constant", name=value, …) }}`` into the template in the
    environment's language as it compiles: the translation's text between its
    ``%(name)s`` placeholders, and each placeholder as ``{{ value }}``. Output is what
    jinja's own newstyle gettext renders (a value is escaped where the template
    autoescapes, ``%%`` is a percent sign), without a call per render.

    A translation whose placeholders are not the message's is not used: the English
    message is, and the log says so (the catalogue test fails on it first)."""

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        for token in stream:
            if token.type != "variable_begin":
                yield token
                continue
            held = [token]
            for inner in stream:
                held.append(inner)
                if inner.type == "variable_end":
                    break
            yield from self._written_in(held)

    def _written_in(self, held: list[Token]) -> list[Token]:
        """The tokens of one ``{{ … }}``: rewritten when it is exactly a constant ``_()``."""
        inside = held[1:-1]
        if (
            len(inside) < 4
            or held[-1].type != "variable_end"
            or [t.type for t in inside[:3]] != ["name", "lparen", "string"]
            or inside[0].value != "_"
            or _closing(inside) != len(inside) - 1  # the call is the whole expression
        ):
            return held
        arguments = _split_arguments(inside[3:-1])
        if arguments is None:
            return held
        message = str(inside[2].value)
        if any(not _PLACEHOLDER.fullmatch(found[0]) for found in _ANY_FORMAT.finditer(message)):
            return held  # another kind of format (%d, %s): left to gettext as it renders
        translated = self._translate(message, set(arguments))
        line = held[0].lineno
        written: list[Token] = []
        position = 0
        for found in _PLACEHOLDER.finditer(translated):
            written.append(Token(line, "data", translated[position : found.start()]))
            position = found.end()
            if found[1] is None:
                written.append(Token(line, "data", "%"))
                continue
            written.append(Token(line, "variable_begin", "{{"))
            written.extend(arguments[found[1]])
            written.append(Token(line, "variable_end", "}}"))
        written.append(Token(line, "data", translated[position:]))
        return [t for t in written if t.type != "data" or t.value]

    def _translate(self, message: str, names: set[str]) -> str:
        catalogue: gettext.NullTranslations = getattr(
            self.environment, "gomflow_translations", gettext.NullTranslations()
        )
        translated = catalogue.gettext(message)
        if translated != message and placeholders(translated) != placeholders(message):
            log.error("a translation of %r does not keep its placeholders; English is used", message)
            return message
        if not placeholders(message) <= names:
            missing = sorted(placeholders(message) - names)
            raise ValueError(f"_({message!r}) has no value for {', '.join(missing)}")
        return translated


def _closing(tokens: list[Token]) -> int:
    """Where the bracket opened by ``tokens[1]`` closes (-1: it does not)."""
    depth = 0
    for index, token in enumerate(tokens[1:], start=1):
        if token.type in _OPENING:
            depth += 1
        elif token.type in _CLOSING:
            depth -= 1
            if depth == 0:
                return index
    return -1


_OPENING = ("lparen", "lbracket", "lbrace")
_CLOSING = ("rparen", "rbracket", "rbrace")


def _split_arguments(tokens: list[Token]) -> dict[str, list[Token]] | None:
    """``, name=expr, name=expr`` as the tokens of each expression by name; None for
    anything else (a positional argument, ``**kwargs``)."""
    arguments: dict[str, list[Token]] = {}
    depth = 0
    current: list[Token] = []
    parts: list[list[Token]] = []
    for token in tokens:
        if token.type in _OPENING:
            depth += 1
        elif token.type in _CLOSING:
            depth -= 1
        if token.type == "comma" and depth == 0:
            parts.append(current)
            current = []
            continue
        current.append(token)
    parts.append(current)
    if parts[0]:  # something between the message and the first comma
        return None
    for part in parts[1:]:
        if not part:
            continue  # a trailing comma
        if len(part) < 3 or part[0].type != "name" or part[1].type != "assign":
            return None
        arguments[str(part[0].value)] = part[2:]
    return arguments
