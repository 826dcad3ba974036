"""ai-lsp: AI completions, edits, chat and an agent for every LSP editor."""

__version__ = "0.1.0"
