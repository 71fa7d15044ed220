"""Outbound transports, one per platform, and the outbox dispatcher."""
