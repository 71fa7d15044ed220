"""The HTTP side: health, metrics, and later platform and payment webhooks."""
