"""`python -m ai_lsp`: the same as the `ai-lsp` command."""

from ai_lsp.cli import main

raise SystemExit(main())
