"""Request handlers, one module per LSP method family."""
