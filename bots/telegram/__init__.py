"""The Telegram adapter (python-telegram-bot): see ``adapter.TelegramBot``."""
