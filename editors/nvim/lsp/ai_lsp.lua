--- Default `vim.lsp.config("ai_lsp")`, so that `vim.lsp.enable("ai_lsp")` alone starts the
--- server (completion items and code actions); `require("ai_lsp").setup()` adds the rest.
return {
  cmd = { "ai-lsp" },
  root_markers = { ".git" },
}
