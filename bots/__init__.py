"""Inbound chat: the command table shared by every platform, and one adapter per platform."""
