"""``/language``: the language a person's messages are written in, chosen by them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update

from core.db.models import User
from core.languages import ENGLISH, LANGUAGES, chosen_language
from core.services.accounts import Actor
from core.uow import UnitOfWork


@dataclass(frozen=True)
class LanguageView:
    code: str
    name: str  # in the language itself
    # every language gomflow speaks, (code, own name), to choose from
    choices: tuple[tuple[str, str], ...] = tuple(LANGUAGES.items())


def language_view(code: str | None) -> LanguageView:
    found = code if code in LANGUAGES else ENGLISH
    return LanguageView(found, LANGUAGES[found])


async def set_language(uow: UnitOfWork, actor: Actor, wanted: str) -> LanguageView:
    """Write to this person in ``wanted`` (a code or a language's name) from now on, on
    every app they use; a language gomflow does not speak is refused with the choices."""
    code = chosen_language(wanted)
    async with uow:
        await uow.session.execute(update(User).where(User.id == actor.user_id).values(language=code))
        await uow.commit()
    return language_view(code)
