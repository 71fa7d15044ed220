"""The Discord adapter: discord.py in front of the shared command table."""
