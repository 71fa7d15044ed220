"""Message templates: one folder per message, one file per channel variant.

``templates/<message>/plain.txt.j2`` is the fallback every channel can use; a channel
may have its own variant (``telegram.html.j2``, ``discord.md.j2``, ``sms.txt.j2``,
``email.html.j2``). The file's middle suffix says how the text is marked up, and so
how user-provided values are escaped. Which variants a channel tries, best first, is
part of its platform's description (``platforms.py``) and handed to ``JinjaRenderer``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from functools import cache, partial
from pathlib import Path
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    select_autoescape,
)
from jinja2.ext import Extension

from core.render import Markup, Phrase, Rendered
from templates import wording
from templates.i18n import CompiledTranslations, translations, written_in

HERE = Path(__file__).parent

PLAIN = ("plain.txt",)  # what a channel without variants of its own renders
_MARKUP: dict[str, Markup] = {"html": "html", "md": "markdown", "txt": "plain"}
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_~|>\[\]()#-])")
_INCLUDE = re.compile(r'^\{% include "([^"]+)" %\}\n?', re.MULTILINE)  # on a line of its own


def progress_bar(done: int, total: int, width: int = 10) -> str:
    filled = 0 if total <= 0 else max(0, min(width, round(width * done / total)))
    return "▓" * filled + "░" * (width - filled)


def escape_markdown(value: object) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(value))


class _Environment(Environment):
    """Template globals as one plain dict instead of jinja's ``ChainMap`` over the
    environment's: every render copies them into its context (twice with an include), and
    copying a ``ChainMap`` took 6 of the 14 µs of an order's reply. What the ``ChainMap``
    is for, seeing globals added after a template loaded, is not needed: ours are all set
    when the environment is made."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


class SharedBlocks(Extension):
    """An ``{% include "…" %}`` on a line of its own is written into the template that
    includes it, as the template loads. Jinja's include makes a second context and a second
    generator on every render (5 of the 16 µs of an order's reply); ours name a fixed file
    of ``_shared`` that sets nothing, so its text can stand in the tag's place. What Jinja
    trims is trimmed alike: the newline after the tag (``trim_blocks``) and one newline at
    the end of the included file (``keep_trailing_newline=False``); an empty ``{{ "" }}``
    after the included text keeps a tag it ends with from trimming the line that follows.
    ``test_templates`` renders every template both ways."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return _INCLUDE.sub(self._included, source)

    def _included(self, tag: re.Match[str]) -> str:
        loader = self.environment.loader
        assert loader is not None
        text = loader.get_source(self.environment, tag[1])[0]
        return self.preprocess(text.removesuffix("\n"), tag[1]) + '{{ "" }}'


@cache
def _environment(root: Path, shared_blocks: bool = True, language: str = "en") -> Environment:
    """One environment per folder, language and process, so a template is compiled once
    however many renderers the process makes (each gomflow app in a test run has its own,
    and the first order of a drop would otherwise compile its reply while buyers wait)."""
    extensions: list[type[Extension] | str] = [CompiledTranslations, "jinja2.ext.i18n"]
    env = _Environment(
        loader=FileSystemLoader(root),
        extensions=[SharedBlocks, *extensions] if shared_blocks else extensions,
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,  # templates ship with the code; no stat per render
        cache_size=-1,  # every template stays compiled: there are a few hundred
        finalize=None if language == "en" else written_in(language),
    )
    catalogue = translations(language)
    env.extend(gomflow_translations=catalogue)
    env.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined]
    env.filters["translated"] = catalogue.gettext  # a phrase from code: {{ c.summary|translated }}
    env.filters["bar"] = progress_bar
    env.filters["md"] = escape_markdown
    for name, words in wording.FILTERS.items():
        env.filters[name] = partial(wording.in_words, words, translate=catalogue.gettext)
    env.filters["on_app"] = partial(wording.on_app, translate=catalogue.gettext)
    env.filters["proof_expected"] = partial(wording.proof_expected, translate=catalogue.gettext)
    return env


class JinjaRenderer:
    def __init__(self, variants: Mapping[str, tuple[str, ...]] | None = None, root: Path = HERE) -> None:
        self._variants = dict(variants or {})
        self._root = root
        # (template, channel, language) -> the variant found and its markup: each is looked
        # for on disk once, a missing per-channel variant included, not on every message
        self._chosen: dict[tuple[str, str, str], tuple[Template, Markup]] = {}

    def render(
        self, template: str, channel: str, context: Mapping[str, Any], language: str = "en"
    ) -> Rendered:
        chosen = self._chosen.get((template, channel, language))
        if chosen is None:
            chosen = self._chosen[(template, channel, language)] = self._choose(template, channel, language)
        compiled, markup = chosen
        return Rendered(text=compiled.render(**context).strip(), markup=markup)

    def page(self, name: str, context: Mapping[str, Any], language: str = "en") -> str:
        env = _environment(self._root, language=language)
        return env.get_template(f"pages/{name}.html.j2").render(**context, language=language)

    def translate(self, message: str, language: str) -> str:
        return translations(language).gettext(message)

    def said(self, message: str, language: str, values: Mapping[str, object] | None = None) -> str:
        if language == "en":  # as written: every order's reply says two buttons
            return message % values if values else message
        return Phrase(message, values).said(translations(language).gettext)

    def _choose(self, template: str, channel: str, language: str) -> tuple[Template, Markup]:
        env = _environment(self._root, language=language)
        for variant in self._variants.get(channel, PLAIN):
            try:
                compiled = env.get_template(f"{template}/{variant}.j2")
            except TemplateNotFound:
                continue
            return compiled, _MARKUP[variant.rsplit(".", 1)[1]]
        raise KeyError(f"no template {template} for {channel}")
