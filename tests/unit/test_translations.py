"""Every message in every language: the catalogues against the templates, and each template
rendered in each language with the sample data of ``test_templates``."""

from __future__ import annotations

import gettext
import re
from collections.abc import Iterator
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.checkers import python_format
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment

from core.errors import message_keywords
from core.languages import ENGLISH, LANGUAGES
from core.payments.reading import ProofReading
from core.payments.reading.policy import judge
from templates import JinjaRenderer, _environment
from templates.i18n import CompiledTranslations, catalogue_path, extract_python, placeholders, translations
from tests.unit.test_proof_policy_rules import ASKED
from tests.unit.test_templates import CASES, TEMPLATE_ROOT, make_order

ROOT = TEMPLATE_ROOT.parent
TRANSLATED = [code for code in LANGUAGES if code != ENGLISH]
# the longest text one message may carry, by the file's variant (platforms split longer
# replies, but a template's own text should never need it)
LIMITS = {"telegram.html": 4096, "discord.md": 2000, "sms.txt": 1600, "whatsapp.txt": 1600}
_MARKUP = re.compile(r"</?[a-zA-Z][^>]*>|\*\*|`")


# what dev.py gives pybabel extract: the command table's summaries, the core's errors
KEYWORDS = {**DEFAULT_KEYWORDS, "command": (3,), **dict.fromkeys(message_keywords(), (1,))}


@cache
def source_messages() -> dict[str | tuple[str, str], str]:
    """Every message the templates mark, as ``pybabel extract`` finds them (babel.cfg),
    with the first place each is used."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: dict[str | tuple[str, str], str] = {}
    for filename, line, message, _, _ in extract_from_dir(
        str(ROOT),
        method_map,
        options_map,
        keywords=KEYWORDS,
        directory_filter=lambda path: not Path(path).name.startswith((".", "__")),
    ):
        found.setdefault(message if isinstance(message, str) else tuple(message), f"{filename}:{line}")
    return found


@cache
def catalogue(language: str) -> Catalog:
    with catalogue_path(language).open("rb") as po:
        return read_po(po, locale=language)


def entries(language: str) -> Iterator[Message]:
    return (message for message in catalogue(language) if message.id)


def test_the_templates_mark_their_messages() -> None:
    messages = source_messages()
    assert len(messages) > 500
    assert "Order placed!" in messages  # the busiest reply of all
    assert "waiting for payment" in messages  # templates/wording.py
    assert "Choose the language I write to you in" in messages  # the command table's summaries
    assert "There is no order %(number)s. /myorders lists yours." in messages  # the core's refusals


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_in_the_source_has_an_entry_in_the_catalogue(language: str) -> None:
    known = {
        message.id if isinstance(message.id, str) else tuple(message.id) for message in entries(language)
    }
    missing = [f"{where}: {key!r}" for key, where in source_messages().items() if key not in known]
    assert missing == [], f"run python3 dev.py messages; no entry in {language} for {missing[:5]}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated(language: str) -> None:
    untranslated = [
        message.id
        for message in entries(language)
        if message.fuzzy or not all(message.string if isinstance(message.string, tuple) else [message.string])
    ]
    assert untranslated == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_their_placeholders_and_markup(language: str) -> None:
    broken = []
    for message in entries(language):
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        source = message.id if isinstance(message.id, str) else message.id[-1]
        try:
            python_format(catalogue(language), message)
        except Exception as wrong:  # babel's TranslationError names the placeholder
            broken.append(f"{source!r}: {wrong}")
        for form in filter(None, forms):  # an empty one is test_every_message_is_translated's
            if sorted(_MARKUP.findall(form)) != sorted(_MARKUP.findall(source)):
                broken.append(f"{source!r}: markup {form!r}")
    assert broken == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_plural_forms_are_the_languages_own(language: str) -> None:
    expected = catalogue(language).num_plurals
    assert expected == (2 if language == "fil" else 1)
    for message in entries(language):
        if message.pluralizable:
            assert len(message.string) == expected, message.id


def _cases() -> Iterator[Any]:
    for index, (name, context, _) in enumerate(CASES):
        for variant in sorted((TEMPLATE_ROOT / name).glob("*.j2")):
            yield pytest.param(f"{name}/{variant.name}", context, id=f"{name}/{variant.name}#{index}")


CASE_FILES = list(_cases())


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_template_renders_in_every_language(language: str) -> None:
    """No missing value, nothing over a platform's limit, and no message left in English
    where the catalogue translates it (a translation written into the template as it
    compiled, or looked up as it rendered)."""
    english, translated = _environment(TEMPLATE_ROOT), _environment(TEMPLATE_ROOT, language=language)
    written = _translated_sentences(language)
    problems = []
    for case in CASE_FILES:
        file, context = case.values
        before = english.get_template(file).render(**context)
        after = translated.get_template(file).render(**context)
        limit = LIMITS.get(file.split("/")[1].removesuffix(".j2"))
        if limit is not None and len(after.strip()) > limit >= len(before.strip()):
            problems.append(f"{file}: {len(after)} characters, over {limit}")
        mine = {f"templates/{file}", "templates/wording.py"}  # and the shared blocks it may write in
        left = [
            sentence
            for sentence, used_in in written
            if sentence in before
            and sentence in after
            and any(f in mine or "/_shared/" in f for f in used_in)
        ]
        if left:
            problems.append(f"{file}: still in English: {left[:2]}")
    assert problems == []


def _translated_sentences(language: str) -> list[tuple[str, set[str]]]:
    """Constant messages of a few words whose translation differs, as English shows them,
    with the files that use each."""
    return [
        (message.id.replace("%%", "%"), {filename for filename, _ in message.locations})
        for message in entries(language)
        if isinstance(message.id, str)
        and not placeholders(message.id)
        and "%" not in message.id.replace("%%", "")
        and len(message.id.split()) >= 3
        and message.string
        and message.string != message.id
    ]


def _environment_with(translated: dict[str, str], *, autoescape: bool = False) -> Environment:
    catalog = Catalog(locale="id")
    for source, text in translated.items():
        catalog.add(source, text, flags=("python-format",) if "%(" in source else ())
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    found = gettext.GNUTranslations(compiled)
    env = Environment(extensions=[CompiledTranslations, "jinja2.ext.i18n"], autoescape=autoescape)
    env.extend(gomflow_translations=found)
    env.install_gettext_translations(found, newstyle=True)  # type: ignore[attr-defined]
    return env


def test_a_message_is_written_into_the_template_in_its_language() -> None:
    env = _environment_with({"Pay by %(due)s, %(n)s%% off.": "Bayar %(n)s%% sebelum %(due)s."})
    template = env.from_string('{{ _("Pay by %(due)s, %(n)s%% off.", due=when ~ "!", n=2 * 3) }}')
    assert template.render(when="Fri") == "Bayar 6% sebelum Fri!."


def test_values_are_escaped_in_html_exactly_as_jinjas_own_gettext_does() -> None:
    source = '{{ _("<b>%(title)s</b> is open", title=title) }}'
    ours = _environment_with({"<b>%(title)s</b> is open": "<b>%(title)s</b> dibuka"}, autoescape=True)
    assert ours.from_string(source).render(title="A&B <i>") == "<b>A&amp;B &lt;i&gt;</b> dibuka"
    plain = _environment_with({}, autoescape=True)
    reference = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    reference.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    assert plain.from_string(source).render(title="A&B") == reference.from_string(source).render(title="A&B")


def test_a_translation_with_a_broken_placeholder_is_never_shown() -> None:
    broken = {"Pay %(total)s by %(due)s.": "Bayar %(totl)s sebelum %(due)s."}
    env = _environment_with(broken)
    rendered = env.from_string('{{ _("Pay %(total)s by %(due)s.", total=t, due=d) }}').render(
        t="S$5", d="Fri"
    )
    assert rendered == "Pay S$5 by Fri."  # English, never "Bayar … %(totl)s"
    catalog = Catalog(locale="id")
    message = catalog.add(
        "Pay %(total)s by %(due)s.", "Bayar %(totl)s sebelum %(due)s.", flags=("python-format",)
    )
    with pytest.raises(Exception, match="totl"):
        python_format(catalog, message)  # what test_translations_keep_their_placeholders_and_markup runs


def test_a_message_without_a_value_for_its_placeholder_fails_as_the_template_compiles() -> None:
    env = _environment_with({})
    with pytest.raises(ValueError, match="no value for due"):
        env.from_string('{{ _("Pay by %(due)s.") }}')


def test_a_language_gomflow_has_no_catalogue_for_reads_english() -> None:
    assert translations("xx").gettext("Order placed!") == "Order placed!"
    assert isinstance(translations("th"), gettext.GNUTranslations)
    assert translations("th").gettext("Order placed!") != "Order placed!"


def test_an_expression_with_two_messages_is_left_to_gettext_as_it_renders() -> None:
    env = _environment_with({"Paid": "Lunas", "Unpaid": "Belum dibayar"})
    template = env.from_string('{{ _("Paid", x=1) if paid else _("Unpaid", y=2) }}|{{ (_("Paid")) }}')
    assert template.render(paid=True) == "Lunas|Lunas"
    assert template.render(paid=False) == "Belum dibayar|Lunas"


@pytest.mark.parametrize(
    ("language", "written"), [("th", "22 พ.ย. 2026 20:00 +08"), ("zh", "2026年11月22日")]
)
def test_a_moment_reads_as_the_language_writes_dates(language: str, written: str) -> None:
    order = make_order()
    assert order.payment_due == "Sun 22 Nov 2026, 20:00 +08"
    text = JinjaRenderer().render("order_placed", "console", {"order": order}, language).text
    assert written in text and "Nov" not in text
    assert order.payment_due in JinjaRenderer().render("order_placed", "console", {"order": order}).text


def test_a_message_the_formatter_wrapped_in_parentheses_is_extracted() -> None:
    source = b"""
raise InvalidInput(
    (
        "A message too long for one line "
        "goes on here, %(code)s."
    ),
    code=code,
)
raise InvalidInput(f"not {this}")
button = call.gettext("Pay %(number)s", number=n)
"""
    keywords = {"InvalidInput": None, "gettext": None}
    found = [
        (line, name, messages)
        for line, name, messages, _ in extract_python(BytesIO(source), keywords, [], {})
    ]
    assert found == [
        (2, "InvalidInput", ("A message too long for one line goes on here, %(code)s.",)),
        (10, "gettext", ("Pay %(number)s",)),
    ]


@pytest.mark.parametrize("language", TRANSLATED)
def test_what_a_proof_was_checked_for_reads_in_every_language(language: str) -> None:
    verdict = judge(ProofReading(note="not a receipt"), ASKED)
    env = _environment(TEMPLATE_ROOT, language=language)
    shown = [
        env.from_string(
            "{{ c.field|proof_word }}: {{ c.read|proof_word }} ({{ c.expected|proof_expected }})"
        ).render(c=check)
        for check in verdict.checks
    ]
    catalogue = translations(language)
    for check, line in zip(verdict.checks, shown, strict=True):
        assert catalogue.gettext(check.field) in line and catalogue.gettext("not read") in line, line
    date = shown[[c.field for c in verdict.checks].index("date")]
    assert catalogue.gettext("after %(moment)s") % {"moment": "2026-12-01T04:00+00:00"} in date
    assert " after " not in date
