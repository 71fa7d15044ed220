"""The command table as Discord slash commands, and an interaction back into a command line.

Each command's options are read from its ``usage`` in the one command table (DESIGN rule
2): ``CODE`` is a GO code with autocomplete, ``ITEM`` an item or version with
autocomplete, ``QTY`` a whole number from 1, ``ORDER`` an order number with autocomplete,
``a|b|c`` a choice, ``[X]`` an optional option, ``[ITEM QTY …]`` more of the same as free
text. What the usage says in a shape no option fits (a quoted title, ``key=`` settings)
is one free-text ``details`` option, so every command stays reachable. Discord wants
required options first; the command line is rebuilt in the usage's own order.

GOM commands carry default member permissions (Manage Server), so a server shows them
only to its managers — but that only hides them: gomflow's own check (the dispatcher's
``Audience.GOM``) still decides, and a Discord role never grants gomflow rights.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bots.commands import COMMANDS, Audience, Command
from core.render import N_

STRING, INTEGER, ATTACHMENT = 3, 4, 11
MANAGE_GUILD = 1 << 5
GUILD, BOT_DM = 0, 1  # interaction contexts
MAX_DESCRIPTION = 100
# the option a command's "a|b|c" word becomes, by command (else "choice")
ALTERNATIVES = {"status": "status"}
# A command that takes a file beside its words: the option's name and what it is.
ATTACHMENTS = {
    "paid": ("screenshot", N_("A screenshot of the payment")),
    "paymethods": ("qr_photo", N_("A photo of your static bank QR")),
}
# gomflow's languages as Discord names its locales (it has no Malay or Filipino); command
# names stay ASCII and English everywhere, only their descriptions are translated
DISCORD_LOCALES = {"id": "id", "th": "th", "vi": "vi", "ko": "ko", "zh": "zh-CN"}
Translate = Callable[[str, str], str]  # (phrase, language) -> the phrase in that language
CHANNEL_TARGET = "target"  # left empty, a Discord link names the channel it is typed in


@dataclass(frozen=True)
class Option:
    name: str
    kind: int
    description: str
    required: bool = True
    autocomplete: str | None = None  # "go", "item" or "order": what to suggest
    choices: tuple[str, ...] = ()
    prefix: str = ""  # written before the value in the command line (#2, amount=5)
    rest: bool = False  # free text, written as typed

    def payload(self, translate: Translate | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.kind,
            "name": self.name,
            "description": self.description[:MAX_DESCRIPTION],
            "required": self.required,
        }
        if translate is not None and (localized := localizations(self.description, translate)):
            body["description_localizations"] = localized
        if self.autocomplete:
            body["autocomplete"] = True
        if self.choices:
            body["choices"] = [{"name": c, "value": c} for c in self.choices]
        if self.kind == INTEGER:
            body |= {"min_value": 1, "max_value": 1_000_000}
        if self.kind == STRING:
            body["max_length"] = 1_000 if self.rest else 100
        return body


TOKENS: Mapping[str, Option] = {
    "CODE": Option("code", STRING, N_("The group order's code"), autocomplete="go"),
    "ITEM": Option("item", STRING, N_("Item or version, e.g. ALB:A"), autocomplete="item"),
    "QTY": Option("qty", INTEGER, N_("How many")),
    "ORDER": Option("order", STRING, N_("The order number"), autocomplete="order"),
    "#N": Option("proof", INTEGER, N_("Which proof (#N)"), prefix="#"),
    "PRICE": Option("price", STRING, N_("Price, e.g. 25.00")),
    "WHEN": Option("when", STRING, N_("When: 2026-12-01 20:00, +2d or 12h")),
    "AUDIENCE": Option("audience", STRING, N_("Who: all, unpaid, paid, waitlist or channels")),
    "MESSAGE": Option("message", STRING, N_("The message"), rest=True),
    "REASON": Option("reason", STRING, N_("Why"), rest=True),
    # optional here: a Discord channel is named by typing the command in it
    "TARGET": Option(
        CHANNEL_TARGET, STRING, N_("Group, channel id or address (Discord: this channel)"), False
    ),
    "METHOD": Option("method", STRING, N_("Payment method")),
    "REFERENCE": Option("reference", STRING, N_("Your transfer's reference")),
    "ID": Option("id", INTEGER, N_("The id")),
    "HANDLE": Option("handle", STRING, N_("Their handle")),
    "PLATFORM": Option("platform", STRING, N_("The app: telegram, discord or email")),
}
_WORD = re.compile(r'\[[^\]]*\]|"[^"]*"|\S+')
_ALTERNATION = re.compile(r"^[a-z]+(\|[a-z]+)+$")
_KEY_VALUE = re.compile(r"^\[([a-z]+)=([A-Z]+)\]$")


def options_of(command: Command) -> tuple[Option, ...]:
    """The options of one command, in its usage's order (read from its usage once: every
    interaction asks for them)."""
    options = _OPTIONS.get(command.name)
    if options is None:
        options = _OPTIONS[command.name] = tuple(_read_options(command))
    return options


_OPTIONS: dict[str, tuple[Option, ...]] = {}


def _read_options(command: Command) -> list[Option]:
    options: list[Option] = []
    words = _WORD.findall(command.usage)
    for index, word in enumerate(words):
        option = _option(word, ALTERNATIVES.get(command.name, "choice"))
        if option is None or any(o.name == option.name for o in options):
            options.append(
                Option("details", STRING, command.usage, not words[index].startswith("["), rest=True)
            )
            break
        options.append(option)
    if command.name in ATTACHMENTS:
        name, description = ATTACHMENTS[command.name]
        options.append(Option(name, ATTACHMENT, description, False))
    return options


def _option(word: str, alternative: str) -> Option | None:
    if word in TOKENS:
        return TOKENS[word]
    if _ALTERNATION.match(word):
        return Option(alternative, STRING, word.replace("|", ", "), choices=tuple(word.split("|")))
    if (key_value := _KEY_VALUE.match(word)) is not None:
        key = key_value.group(1)
        return Option(key, STRING, f"{key}={key_value.group(2)}", False, prefix=f"{key}=")
    inner = word[1:-1].strip() if word.startswith("[") and word.endswith("]") else None
    if inner is not None and inner in TOKENS:
        return _optional(TOKENS[inner])
    if inner is not None and (inner.endswith("…") or inner == "…"):
        return Option("more", STRING, f"More: {inner}", False, rest=True)
    return None


def _optional(option: Option) -> Option:
    return Option(
        option.name,
        option.kind,
        option.description,
        False,
        option.autocomplete,
        option.choices,
        option.prefix,
        option.rest,
    )


def command_payloads(translate: Translate | None = None) -> list[dict[str, Any]]:
    """Every command of the table as Discord application commands (the sync's body), each
    described in every language gomflow and Discord both have when ``translate`` is given."""
    return [command_payload(c, translate) for c in COMMANDS.values()]


def command_payload(command: Command, translate: Translate | None = None) -> dict[str, Any]:
    options = options_of(command)
    ordered = [o for o in options if o.required] + [o for o in options if not o.required]
    body: dict[str, Any] = {
        "type": 1,
        "name": command.name,
        "description": command.summary[:MAX_DESCRIPTION],
        "options": [o.payload(translate) for o in ordered],
        "contexts": [GUILD, BOT_DM],
        "integration_types": [0],
    }
    if command.audience is Audience.GOM:
        body["default_member_permissions"] = str(MANAGE_GUILD)
    if translate is not None:
        body["description_localizations"] = localizations(command.summary, translate)
    return body


def localizations(description: str, translate: Translate) -> dict[str, str]:
    """A description in each Discord locale gomflow has a translation of it for (an option
    read from a usage's own words, ``ordered, arrived``, has none: it stays as typed)."""
    said = {locale: translate(description, language) for language, locale in DISCORD_LOCALES.items()}
    return {locale: text[:MAX_DESCRIPTION] for locale, text in said.items() if text != description}


class OptionError(ValueError):
    """An option the command does not take, or of the wrong type: the words say which
    (``text``, with its ``values`` apart, to be said in the reader's language)."""

    def __init__(self, message: str, /, **values: object) -> None:
        super().__init__(message % values if values else message)
        self.text, self.values = message, values


def command_line(name: str, values: Mapping[str, Any], channel_id: str | None = None) -> str:
    """The typed command ``/name …`` for an application command's option values.

    ``channel_id`` is the server channel the command was typed in (None in a DM): it is the
    target of a Discord link that names none.
    """
    command = COMMANDS.get(name)
    if command is None:
        raise OptionError(N_("/%(name)s is not a gomflow command any more. Try /help."), name=name[:30])
    words = [f"/{command.name}"]
    known = {o.name: o for o in options_of(command)}
    for key in values:
        if key not in known:
            raise OptionError(N_("/%(name)s has no option '%(option)s'."), name=command.name, option=key[:30])
    values = dict(values)
    if CHANNEL_TARGET in known and values.get("platform") == "discord" and not values.get(CHANNEL_TARGET):
        if channel_id is None:
            raise OptionError(
                N_(
                    "Use /%(name)s in the server channel you mean (it needs a server), "
                    "or give the channel's id as the target."
                ),
                name=command.name,
            )
        values[CHANNEL_TARGET] = channel_id
    for option in known.values():
        value = values.get(option.name)
        if value is None or value == "" or option.kind == ATTACHMENT:
            continue
        if option.kind == INTEGER and (isinstance(value, bool) or not isinstance(value, int)):
            raise OptionError(N_("%(option)s must be a whole number."), option=option.name)
        if option.kind == STRING and not isinstance(value, str):
            raise OptionError(N_("%(option)s must be text."), option=option.name)
        text = f"{option.prefix}{value}"
        if not option.rest and (" " in text or not text):
            text = '"' + text.replace('"', "") + '"'
        words.append(text)
    return " ".join(words)
