"""Completions: the one service behind inline completion, completion items and `ai-lsp complete`
(kept import-free so that the CLI parser loads nothing of it)."""
