"""The command table; importing this package registers every command."""

from bots.commands import broadcast, buyer, delivery, gom, ledger, linking, on_behalf, payments  # noqa: F401  (registration)
from bots.commands.table import COMMANDS, Audience, BotContext, Call, Command, commands_for

__all__ = ["COMMANDS", "Audience", "BotContext", "Call", "Command", "commands_for"]
