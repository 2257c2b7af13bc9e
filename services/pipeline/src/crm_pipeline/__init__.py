"""Pipeline service: funnels, stage groups, stages, custom fields and per-stage field rules (F8-F12)."""
