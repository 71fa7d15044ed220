"""The gomflow core: group orders, quotas, payments and delivery, free of any chat platform."""
