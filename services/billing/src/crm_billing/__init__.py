"""Billing service: subscriptions, seats, orders and CLICK payments."""
