"""Identity service: companies, users, groups, roles, tokens and password reset (F1-F7)."""
