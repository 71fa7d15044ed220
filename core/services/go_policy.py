"""A GO's policy in a GOM's words: ``/policy CODE`` shows it, ``/policy CODE key=value …``
sets the GO's own, ``/policy default key=value …`` the GOM's default; ``/agree CODE`` is
a buyer's "I agree", kept once per GO with the version they were shown.

Every value is checked before anything is written, so a command with one bad value
changes nothing. A GO's own policy starts as a copy of what it ran under (its GOM's
default, or the built-in one), so it is always whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select, update

from core.db.models import GOPolicySetting, GroupOrder, PolicyAgreement
from core.db.upsert import insert_ignoring_conflict
from core.errors import BuyerBanned, Conflict, InvalidInput, UnknownGroupOrder
from core.gate import BANNED
from core.lookups import load_go
from core.money import format_money, get_currency, parse_amount
from core.policy import (
    BackoutRule,
    GOPolicy,
    PolicySource,
    ShortfallRemedy,
    ShortfallRule,
    Unclaimed,
    policy_from,
    policy_of,
)
from core.services.accounts import Actor, is_admin_of, require_admin, require_gom
from core.services.bans import is_banned
from core.status import GOStatus
from core.uow import UnitOfWork

DEFAULT_TARGET = "default"
USAGE = "/policy CODE [key=value …] or /policy default key=value …"
KEYS = (
    "reminders",
    "late_fee",
    "late_fee_cap",
    "grace",
    "backout",
    "backout_fee",
    "shortfall",
    "remedy",
    "unclaimed",
    "currency",
)
MAX_LEADS = 5
MAX_LEAD_MINUTES = 30 * 24 * 60
MAX_GRACE_MINUTES = 30 * 24 * 60
MAX_FEE_MAJOR = 100_000  # the most a fee may be, in whole units of its currency
_DURATION = re.compile(r"^([0-9]{1,5})(m|h|d)$")
_UNIT_MINUTES = {"m": 1, "h": 60, "d": 24 * 60}


@dataclass(frozen=True)
class PolicyView:
    """A policy in words, for ``/policy`` and for the buyer asked to agree."""

    target: str  # a GO code, or "default"
    title: str
    source: str  # PolicySource value
    version: int
    reminders: str  # "48 hours, 24 hours and 1 hour" or "" for the standard reminder
    standard_reminder: str  # the configured lead, in words
    late_fee: str  # "" when none
    late_fee_cap: str  # "" when no cap
    grace: str  # "" when released at the deadline
    backout: str
    backout_fee: str
    shortfall_rule: str
    shortfall_remedy: str
    unclaimed: str
    agreed: bool = False  # the viewer agreed already


def duration_text(minutes: int) -> str:
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return f"{days} day" + ("s" if days != 1 else "")
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour" + ("s" if hours != 1 else "")
    return f"{minutes} minute" + ("s" if minutes != 1 else "")


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def view_of(
    policy: GOPolicy, target: str, title: str, standard_minutes: int, agreed: bool = False
) -> PolicyView:
    money = policy.currency or "SGD"
    return PolicyView(
        target=target,
        title=title,
        source=policy.source.value,
        version=policy.version,
        reminders=_and([duration_text(m) for m in policy.reminder_minutes])
        if policy.reminder_minutes
        else "",
        standard_reminder=duration_text(standard_minutes),
        late_fee=format_money(policy.late_fee_minor, money) if policy.late_fee_minor else "",
        late_fee_cap=format_money(policy.late_fee_cap_minor, money) if policy.late_fee_cap_minor else "",
        grace=duration_text(policy.grace_minutes) if policy.grace_minutes else "",
        backout=policy.backout.value,
        backout_fee=format_money(policy.backout_fee_minor, money) if policy.backout_fee_minor else "",
        shortfall_rule=policy.shortfall_rule.value,
        shortfall_remedy=policy.shortfall_remedy.value,
        unclaimed=policy.unclaimed.value,
        agreed=agreed,
    )


# --- parsing: every value checked before anything is written -------------------------


def parse_duration(key: str, text: str, *, allow_zero: bool, most: int) -> int:
    word = text.strip().lower()
    if allow_zero and word in ("0", "none", "off"):
        return 0
    match = _DURATION.match(word)
    minutes = int(match.group(1)) * _UNIT_MINUTES[match.group(2)] if match else -1
    if minutes <= 0 or minutes > most:
        raise InvalidInput(
            (
                "%(key)s=%(text)s is not a length of time I can use: write it like 24h, 90m or "
                "2d (at most %(duration_text)s)%(value)s."
            ),
            key=key,
            text=text[:20],
            duration_text=duration_text(most),
            value=", or 0" if allow_zero else "",
        )
    return minutes


def parse_leads(text: str) -> tuple[int, ...]:
    parts = [p for p in text.split(",") if p.strip()]
    if not parts or len(parts) > MAX_LEADS:
        raise InvalidInput(
            ("reminders= takes 1 to %(max_leads)s times before the deadline, e.g. reminders=48h,24h,1h."),
            max_leads=MAX_LEADS,
        )
    leads = {parse_duration("reminders", p, allow_zero=False, most=MAX_LEAD_MINUTES) for p in parts}
    if len(leads) != len(parts):
        raise InvalidInput("reminders= names the same time twice.")
    return tuple(sorted(leads, reverse=True))


def _choice(key: str, text: str, kind: Any) -> Any:
    word = text.strip().lower()
    try:
        return kind(word)
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise InvalidInput(
            "%(key)s= is one of %(choices)s; '%(text)s' is not.", key=key, choices=choices, text=text[:20]
        ) from None


def _fee(key: str, text: str, currency: str) -> int:
    word = text.strip()
    if word.lower() in ("0", "none", "off"):
        return 0
    minor = parse_amount(word, currency)
    most = MAX_FEE_MAJOR * 10 ** get_currency(currency).exponent
    if minor < 0 or minor > most:
        raise InvalidInput("%(key)s= is at most %(most)s.", key=key, most=format_money(most, currency))
    return minor


def parse_changes(words: list[str], base: GOPolicy, currency: str, *, default: bool) -> GOPolicy:
    """``key=value`` words applied to ``base``; raises on the first bad one, naming it."""
    pairs: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        key = key.strip().lower()
        if not sep or not value.strip():
            raise InvalidInput(
                "Write each setting as key=value ('%(word)s' is not). Keys: %(keys)s.",
                word=word[:30],
                keys=", ".join(KEYS),
            )
        if key not in KEYS:
            raise InvalidInput(
                "There is no setting '%(key)s'. Keys: %(keys)s.", key=key[:30], keys=", ".join(KEYS)
            )
        if key in pairs:
            raise InvalidInput("%(key)s= is given twice.", key=key)
        pairs[key] = value
    if "currency" in pairs:
        if not default:
            raise InvalidInput("A GO's fees are in its own currency; currency= is only for /policy default.")
        currency = get_currency(pairs["currency"].strip().upper()).code
        if currency != base.currency:  # fees typed in the old currency mean nothing in the new
            base = replace(base, late_fee_minor=0, late_fee_cap_minor=0, backout_fee_minor=0)
    changes: dict[str, Any] = {"currency": currency}
    for key, value in pairs.items():
        if key == "reminders":
            changes["reminder_minutes"] = parse_leads(value)
        elif key == "late_fee":
            changes["late_fee_minor"] = _fee(key, value, currency)
        elif key == "late_fee_cap":
            changes["late_fee_cap_minor"] = _fee(key, value, currency)
        elif key == "grace":
            changes["grace_minutes"] = parse_duration(key, value, allow_zero=True, most=MAX_GRACE_MINUTES)
        elif key == "backout":
            changes["backout"] = _choice(key, value, BackoutRule)
        elif key == "backout_fee":
            changes["backout_fee_minor"] = _fee(key, value, currency)
        elif key == "shortfall":
            changes["shortfall_rule"] = _choice(key, value, ShortfallRule)
        elif key == "remedy":
            changes["shortfall_remedy"] = _choice(key, value, ShortfallRemedy)
        elif key == "unclaimed":
            changes["unclaimed"] = _choice(key, value, Unclaimed)
    policy = replace(base, **changes)
    if 0 < policy.late_fee_cap_minor < policy.late_fee_minor:
        raise InvalidInput(
            "late_fee_cap= is less than one day's late fee; raise it, or set it to 0 for no cap."
        )
    if policy.backout_fee_minor and policy.backout is not BackoutRule.FEE:
        raise InvalidInput("backout_fee= applies only with backout=fee.")
    return policy


# --- use cases ---------------------------------------------------------------------


async def show_policy(uow: UnitOfWork, viewer: Actor, target: str, standard_minutes: int) -> PolicyView:
    """The policy of a GO anyone can see (a draft only to its team), or one's default."""
    async with uow:
        if target.strip().lower() == DEFAULT_TARGET:
            require_gom(viewer)
            default = await _stored(uow, viewer.user_id, 0)
            policy = policy_from(default, PolicySource.GOM_DEFAULT) if default else GOPolicy()
            return view_of(policy, DEFAULT_TARGET, "", standard_minutes)
        go = await _visible_go(uow, viewer, target)
        agreed = await _agreed(uow, go.id, viewer.user_id)
        return view_of(await policy_of(uow, go), go.code, go.title, standard_minutes, agreed)


async def policy_for_buyer(uow: UnitOfWork, go_code: str, standard_minutes: int) -> PolicyView:
    """What a buyer asked to agree is shown (the GO's policy, before their first order)."""
    async with uow:
        go = await load_go(uow, go_code)
        if go.status == GOStatus.DRAFT:
            raise UnknownGroupOrder(
                "There is no group order %(code)s. /browse lists open ones.", code=go.code
            )
        return view_of(await policy_of(uow, go), go.code, go.title, standard_minutes)


async def set_policy(
    uow: UnitOfWork,
    actor: Actor,
    target: str,
    words: list[str],
    standard_minutes: int,
    default_currency: str,
) -> PolicyView:
    """Set some of a GO's own rules (or the GOM's default), all of them or none."""
    if not words:
        raise InvalidInput("Usage: %(usage)s", usage=USAGE)
    async with uow:
        if target.strip().lower() == DEFAULT_TARGET:
            require_gom(actor)
            gom_id, go_id, shown, title = actor.user_id, 0, DEFAULT_TARGET, ""
            stored = await _stored(uow, gom_id, 0)
            base = policy_from(stored, PolicySource.GOM_DEFAULT) if stored else GOPolicy()
            currency = base.currency or default_currency
        else:
            go = await load_go(uow, target, lock=True)
            await require_admin(uow, actor, go)
            gom_id, go_id, shown, title = go.gom_id, go.id, go.code, go.title
            stored = await _stored(uow, gom_id, go.id)
            base = await policy_of(uow, go)
            currency = go.currency
        policy = parse_changes(words, base, currency, default=go_id == 0)
        values = _values(policy)
        if stored is None:
            version = 1
            done = await uow.session.execute(
                insert_ignoring_conflict(
                    uow.session,
                    GOPolicySetting,
                    {
                        **values,
                        "gom_id": gom_id,
                        "go_id": go_id,
                        "version": 1,
                        "updated_by": actor.user_id,
                        "updated_at": uow.now,
                    },
                    ["gom_id", "go_id"],
                )
            )
            written = getattr(done, "rowcount", 0)
        else:
            version = stored.version + 1
            done = await uow.session.execute(
                update(GOPolicySetting)
                .where(
                    GOPolicySetting.gom_id == gom_id,
                    GOPolicySetting.go_id == go_id,
                    GOPolicySetting.version == stored.version,
                )
                .values(**values, version=version, updated_by=actor.user_id, updated_at=uow.now)
                .execution_options(synchronize_session=False)
            )
            written = done.rowcount  # type: ignore[attr-defined]
        if not written:
            raise Conflict("Someone changed this policy at the same moment; look at it again and retry.")
        uow.audit(
            actor_id=actor.user_id,
            entity="group_order" if go_id else "user",
            entity_id=go_id or gom_id,
            action="policy_set",
            detail=f"v{version}: " + " ".join(words)[:500],
        )
        await uow.commit()
        source = PolicySource.OWN if go_id else PolicySource.GOM_DEFAULT
        return view_of(replace(policy, version=version, source=source), shown, title, standard_minutes)


async def agree(uow: UnitOfWork, buyer: Actor, go_code: str) -> int:
    """Record the buyer's "I agree" to the GO's policy (once; a repeat changes nothing);
    returns the version agreed to."""
    async with uow:
        go = await load_go(uow, go_code)
        if go.status == GOStatus.DRAFT and not await is_admin_of(uow, buyer, go):
            raise UnknownGroupOrder(
                "There is no group order %(code)s. /browse lists open ones.", code=go.code
            )
        if await is_banned(uow, go.gom_id, buyer.user_id):
            raise BuyerBanned(BANNED)
        policy = await policy_of(uow, go)
        done = await uow.session.execute(
            insert_ignoring_conflict(
                uow.session,
                PolicyAgreement,
                {"go_id": go.id, "buyer_id": buyer.user_id, "version": policy.version, "agreed_at": uow.now},
                ["go_id", "buyer_id"],
            )
        )
        if getattr(done, "rowcount", 0):
            uow.audit(
                actor_id=buyer.user_id,
                entity="group_order",
                entity_id=go.id,
                action="policy_agreed",
                detail=f"v{policy.version} ({policy.source.value}) by user {buyer.user_id}",
            )
        await uow.commit()
        return policy.version


async def _visible_go(uow: UnitOfWork, viewer: Actor, target: str) -> GroupOrder:
    go = await load_go(uow, target)
    if go.status == GOStatus.DRAFT and not await is_admin_of(uow, viewer, go):
        raise UnknownGroupOrder("There is no group order %(code)s. /browse lists open ones.", code=go.code)
    return go


async def _agreed(uow: UnitOfWork, go_id: int, buyer_id: int) -> bool:
    found = await uow.session.scalar(
        select(PolicyAgreement.version).where(
            PolicyAgreement.go_id == go_id, PolicyAgreement.buyer_id == buyer_id
        )
    )
    return found is not None


async def _stored(uow: UnitOfWork, gom_id: int, go_id: int) -> GOPolicySetting | None:
    return await uow.session.scalar(
        select(GOPolicySetting).where(GOPolicySetting.gom_id == gom_id, GOPolicySetting.go_id == go_id)
    )


def _values(policy: GOPolicy) -> dict[str, Any]:
    return {
        "currency": policy.currency,
        "reminders": ",".join(str(m) for m in policy.reminder_minutes),
        "late_fee_minor": policy.late_fee_minor,
        "late_fee_cap_minor": policy.late_fee_cap_minor,
        "grace_minutes": policy.grace_minutes,
        "backout": policy.backout.value,
        "backout_fee_minor": policy.backout_fee_minor,
        "shortfall_rule": policy.shortfall_rule.value,
        "shortfall_remedy": policy.shortfall_remedy.value,
        "unclaimed": policy.unclaimed.value,
    }
