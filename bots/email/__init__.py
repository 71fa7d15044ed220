"""Email as a chat platform: gomflow's own SMTP listener, and threaded replies."""
