"""Types shared by the sample modules."""

from __future__ import annotations

# Chunks a sample must give, in file order: (kind, symbol, start_line, end_line).
Expected = list[tuple[str, str, int, int]]
# (path, language, source, expected chunks)
Sample = tuple[str, str, str, Expected]
