"""The languages gomflow speaks, and which one a person most likely reads.

A person's language is chosen on first contact from what their platform says of them
(Telegram's ``language_code``, Discord's ``locale``, the country of an SMS or WhatsApp
number), changed with ``/language``, and otherwise English.
"""

from __future__ import annotations

from core.errors import InvalidInput

ENGLISH = "en"

# code -> the language's own name, as a person looking for theirs reads it
LANGUAGES: dict[str, str] = {
    "en": "English",
    "id": "Bahasa Indonesia",
    "ms": "Bahasa Melayu",
    "th": "ภาษาไทย",
    "vi": "Tiếng Việt",
    "fil": "Filipino",
    "ko": "한국어",
    "zh": "简体中文",
}

# what platforms send (IETF tags, Discord's locales, old ISO codes) -> ours
_ALIASES = {
    "in": "id",  # the code Indonesian had before 1989, still sent by some Android phones
    "tl": "fil",
    "tagalog": "fil",
    "zh-hans": "zh",
    "zh-cn": "zh",
    "zh-sg": "zh",
    "zh-my": "zh",
}

# a phone number's country -> the language most people there read in a shop's messages;
# countries where several are usual (Singapore: English, Chinese, Malay, Tamil) say nothing
_BY_COUNTRY = {"ID": "id", "MY": "ms", "TH": "th", "VN": "vi", "PH": "fil", "KR": "ko", "CN": "zh"}


def from_hint(hint: str | None) -> str | None:
    """Our language for a platform's language tag (``pt-BR``, ``zh_CN``, ``id``), or None
    when gomflow has none like it."""
    if not hint:
        return None
    tag = hint.strip().lower().replace("_", "-")[:20]
    if tag in LANGUAGES:
        return tag
    if tag in _ALIASES:
        return _ALIASES[tag]
    base = tag.split("-", 1)[0]
    if base == "zh":  # Traditional Chinese readers get the nearest gomflow has
        return "zh"
    return base if base in LANGUAGES else _ALIASES.get(base)


def from_country(region: str | None) -> str | None:
    """The language of a phone number's country (ISO 3166 code), when it has one clear one."""
    return _BY_COUNTRY.get((region or "").upper())


def chosen_language(text: str) -> str:
    """A language a person named (``th``, ``Thai``, ``ภาษาไทย``), or a clear refusal."""
    wanted = text.strip()
    found = from_hint(wanted)
    if found is None:
        folded = wanted.casefold()
        found = next(
            (code for code, name in LANGUAGES.items() if folded in {name.casefold(), _ENGLISH_NAMES[code]}),
            None,
        )
    if found is None:
        choices = ", ".join(f"{code} ({name})" for code, name in LANGUAGES.items())
        raise InvalidInput(
            "gomflow does not speak %(wanted)s yet, so you stay as you were. Choose one of: %(choices)s.",
            wanted=repr(wanted[:30]),
            choices=choices,
        )
    return found


_ENGLISH_NAMES = {
    "en": "english",
    "id": "indonesian",
    "ms": "malay",
    "th": "thai",
    "vi": "vietnamese",
    "fil": "filipino",
    "ko": "korean",
    "zh": "chinese",
}
