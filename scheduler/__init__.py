"""Scheduler jobs: each tick asks the core for due work; nothing is kept here."""
