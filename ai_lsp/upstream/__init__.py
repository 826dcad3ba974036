"""Upstream language servers driven by ai-lsp (sidecar) or fronted by it (proxy)."""
