--- The plugin's ghost-text keys on Neovim 0.12+, acting on `vim.lsp.inline_completion`
--- (Neovim requests, draws and accepts; the plugin adds word/line accept and dismiss).
local suggestion = require("ai_lsp.ghost.suggestion")

local api = vim.api
local M = {}

--- Insert the next word or line of `item` at the cursor (the rest stays a suggestion: the
--- cursor moves, so Neovim asks again and ai-lsp answers from its type-through cache).
---@param item vim.lsp.inline_completion.Item
---@param unit "word"|"line"
local function insert_part(item, unit)
  local text = item.insert_text
  if type(text) ~= "string" then
    return -- snippets are accepted whole only
  end
  local cursor = api.nvim_win_get_cursor(0)
  local row, col = cursor[1] - 1, cursor[2]
  local range = item.range
  if range then
    local start = range.start or { row = range[1], col = range[2] } -- vim.Range, or Range4
    local line = api.nvim_buf_get_lines(0, row, row + 1, false)[1] or ""
    local typed = start.row == row and line:sub(start.col + 1, col) or ""
    text = vim.startswith(text, typed) and text:sub(#typed + 1) or text
  end
  local lines = vim.split(suggestion.part(text, unit), "\n", { plain = true })
  api.nvim_buf_set_text(0, row, col, row, col, lines)
  api.nvim_win_set_cursor(0, { row + #lines, (#lines == 1 and col or 0) + #lines[#lines] })
end

---@param unit "all"|"word"|"line"
---@return boolean
function M.accept(unit)
  if unit == "all" then
    return vim.lsp.inline_completion.get()
  end
  return vim.lsp.inline_completion.get({
    on_accept = function(item) insert_part(item, unit) end,
  })
end

---@param step integer
---@return boolean
function M.cycle(step)
  vim.lsp.inline_completion.select({ count = step })
  return true
end

--- Neovim has no "dismiss": accepting with a handler that inserts nothing hides the shown
--- item and cancels pending requests; the next keystroke asks again.
---@return boolean dismissed False when nothing was shown.
function M.dismiss()
  return vim.lsp.inline_completion.get({ on_accept = function() end })
end

--- Turn Neovim's inline completion on or off for the ai-lsp client (all its buffers).
---@param client_id integer
---@param on boolean
function M.enable(client_id, on) vim.lsp.inline_completion.enable(on, { client_id = client_id }) end

return M
