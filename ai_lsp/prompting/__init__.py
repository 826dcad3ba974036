"""Prompt assembly: context, token budgets, templates, fill-in-the-middle, edit formats."""
