"""Shared plumbing for the CRM services. Each sub-module has one job; none holds domain code."""
