-- Headless Neovim, no server: how the plugin reads inline completion items (ranges in UTF-16
-- and UTF-8) and draws them (inline, overlay, virtual lines, moved text), and which part
-- "accept word" / "accept line" take.
-- Environment: AI_LSP_PLUGIN (editors/nvim), AI_LSP_OUT (result file).
vim.opt.runtimepath:prepend(os.getenv("AI_LSP_PLUGIN"))
local render = require("ai_lsp.ghost.render")
local suggestion = require("ai_lsp.ghost.suggestion")
local api = vim.api
local results = {}

--- Draw the items for `line` with the cursor at byte `col`; the extmark and the suggestions.
---@param line string
---@param col integer
---@param items lsp.InlineCompletionItem[]
---@param encoding string
local function draw(line, col, items, encoding)
  local bufnr = api.nvim_create_buf(false, true)
  api.nvim_buf_set_lines(bufnr, 0, -1, false, { line, "next line" })
  local anchor = { row = 0, col = col, rest = line:sub(col + 1) }
  local found = suggestion.from_items(bufnr, anchor, items, encoding)
  local mark = vim.NIL
  if found[1] then
    render.show(bufnr, anchor, found[1], nil)
    local m = api.nvim_buf_get_extmarks(bufnr, render.namespace, 0, -1, { details = true })[1]
    mark =
      { col = m[3], pos = m[4].virt_text_pos, text = m[4].virt_text, lines = m[4].virt_lines or {} }
  end
  return { suggestions = found, mark = mark }
end

local function range(line, s, e)
  return { start = { line = line, character = s }, ["end"] = { line = line, character = e } }
end

local ok, err = pcall(function()
  -- `fmt("😀 你好", |)`: byte 30, UTF-16 24; the item replaces the `)`.
  local line = 'fmt("😀 你好", )'
  results.utf16 = draw(line, 19, { { insertText = "name)", range = range(0, 13, 14) } }, "utf-16")
  results.utf8 = draw(line, 19, { { insertText = "name)", range = range(0, 19, 20) } }, "utf-8")
  -- A range starting before the cursor: the typed `na` is not drawn again.
  results.typed = draw("x = na", 6, { { insertText = "name", range = range(0, 4, 6) } }, "utf-8")
  -- The typed text does not agree with the item: left out.
  results.disagree = draw("x = nb", 6, { { insertText = "name", range = range(0, 4, 6) } }, "utf-8")
  -- Replacing text the suggestion does not end with: overlay the rest of the line.
  results.overlay =
    draw("f(a, b) + 1", 2, { { insertText = "x)", range = range(0, 2, 7) } }, "utf-8")
  -- Several lines with text after the cursor: it moves after the last line.
  results.moved = draw("call() # done", 5, { { insertText = "a,\n  b" } }, "utf-8")
  -- Items on other rows (next-edit ranges) cannot be ghost text at the cursor.
  results.other_row = draw("x = 1", 5, { { insertText = "2", range = range(1, 0, 0) } }, "utf-8")

  local anchor = { row = 0, col = 4, rest = ")" }
  local items = { { text = "total, tax)", end_col = 5 }, { text = "sum)", end_col = 5 } }
  local a1, left1 = suggestion.type_through(anchor, items, 0, 7, "f(( tot)")
  results.type_through = { anchor = a1, left = left1 }
  local _, left2 = suggestion.type_through(anchor, items, 0, 7, "f(( tot))") -- `)` added after
  results.type_through_changed_rest = left2
  results.parts = {
    suggestion.part("compute_total(items)", "word"),
    suggestion.part("(items)", "word"),
    suggestion.part("  café = 1", "word"),
    suggestion.part("if a:\n    return a", "line"),
    suggestion.part("\n    return a\nb", "line"),
  }
end)
results.error = not ok and tostring(err) or nil
local f = assert(io.open(os.getenv("AI_LSP_OUT"), "w"))
f:write(vim.json.encode(results))
f:close()
vim.cmd("qall!")
