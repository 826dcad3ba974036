"""The agent: tools, approvals and command parsing."""
