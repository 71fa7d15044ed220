"""The command table; importing this package registers every command."""

from bots.commands import (  # noqa: F401  (registration)
    broadcast,
    buyer,
    dashboard,
    defaults,
    delivery,
    editing,
    gom,
    handovers,
    inclusions,
    language,
    ledger,
    linking,
    masterlist,
    money,
    notices,
    on_behalf,
    payments,
    policy,
    privacy,
    reopen,
    shortfall,
    staff,
    statements,
)
from bots.commands.table import COMMANDS, Audience, BotContext, Call, Command, commands_for

__all__ = ["COMMANDS", "Audience", "BotContext", "Call", "Command", "commands_for"]
