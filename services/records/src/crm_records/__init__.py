"""Records service: clients, deals, tasks, phone numbers, stage rules, soft delete, responsibility (F10-F16)."""
