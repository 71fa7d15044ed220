"""Database access: engine set-up and the schema."""
