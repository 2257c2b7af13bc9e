"""Automation service: business processes that create tasks from record events (F17)."""
