-- Headless Neovim with a stand-in for Neovim 0.12's `vim.lsp.inline_completion` (its API as
-- documented: enable/is_enabled/get/select): the plugin must leave requesting and drawing
-- to Neovim and map its keys onto that API (word accept through `get{on_accept}`).
-- Environment: see plugin_harness.lua, plus AI_LSP_DIR (the workspace holding native.py).
local calls = {}
local shown = true
vim.lsp.inline_completion = {
  enable = function(on, filter)
    table.insert(calls, { "enable", on, filter and filter.client_id or vim.NIL })
  end,
  is_enabled = function() return true end,
  select = function(opts) table.insert(calls, { "select", opts.count }) end,
  get = function(opts)
    table.insert(calls, { "get", opts ~= nil and opts.on_accept ~= nil })
    if not shown then
      return false
    end
    if opts and opts.on_accept then
      local row = vim.api.nvim_win_get_cursor(0)[1] - 1
      opts.on_accept({
        insert_text = "compute_total(items)",
        client_id = 1,
        _index = 1,
        range = { start = { row = row, col = 11 }, end_ = { row = row, col = 11 } },
      })
    end
    return true
  end,
}

local H =
  dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)), "plugin_harness.lua"))
local dir = assert(os.getenv("AI_LSP_DIR"))
local results = H.results

H.run({}, function()
  local bufnr, client = H.open(dir .. "/native.py")
  local asked = 0
  local request = client.request
  client.request = function(self, method, ...)
    if method == "textDocument/inlineCompletion" then
      asked = asked + 1
    end
    return request(self, method, ...)
  end
  results.client_id = client.id
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  H.type("A")
  H.sleep(300)
  H.type("<M-w>")
  H.sleep(50)
  results.after_word = H.text(bufnr)
  H.type("<M-]>")
  H.type("<M-[>")
  H.type("<C-]>")
  H.sleep(50)
  results.after_dismiss = H.text(bufnr)
  shown = false
  H.type("<M-l>") -- nothing shown: the key's own meaning (<M-l> in insert mode: <Esc>l)
  H.sleep(50)
  results.mode_after_fallback = vim.api.nvim_get_mode().mode
  vim.cmd("AiLspToggleGhostText")
  results.calls = calls
  results.requests = asked
  results.extmarks = #vim.api.nvim_buf_get_extmarks(bufnr, -1, 0, -1, {})
  H.stop_clients()
end)
