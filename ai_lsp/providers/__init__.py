"""Model providers: OpenAI-compatible endpoints, the local n-gram model, the spend ledger."""
