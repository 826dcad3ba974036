--- Ghost text as one extmark: the rest of the cursor's line as `virt_text`, the following
--- lines as `virt_lines`, showing the buffer as it would read after accepting.
local M = {}

M.namespace = vim.api.nvim_create_namespace("ai_lsp.ghost_text")
M.group = "AiLspGhostText"
M.more_group = "AiLspGhostTextMore"

vim.api.nvim_set_hl(0, M.group, { link = "Comment", default = true })
vim.api.nvim_set_hl(0, M.more_group, { link = "NonText", default = true })

--- Tabs drawn as blanks (virtual text does not expand them).
---@param text string
---@param bufnr integer
---@return string
local function untab(text, bufnr) return (text:gsub("\t", string.rep(" ", vim.bo[bufnr].tabstop))) end

--- Draw `suggestion` at `anchor` in `bufnr`; `counter` (e.g. " (2/3)") is appended when set.
---
--- Single line: the text is inserted `inline` at the cursor; when it ends with the text its
--- range replaces (an auto-closed `)`), only what comes before is drawn, since the buffer
--- already shows the rest. Otherwise, and for several lines when text follows the cursor,
--- the first line is drawn as an `overlay` covering what the suggestion replaces or moves
--- down (padded with blanks), and the moved text is drawn after the last virtual line.
---@param bufnr integer
---@param anchor ai_lsp.Anchor
---@param suggestion ai_lsp.Suggestion
---@param counter string?
---@return integer extmark_id
function M.show(bufnr, anchor, suggestion, counter)
  M.hide(bufnr)
  local line = vim.api.nvim_buf_get_lines(bufnr, anchor.row, anchor.row + 1, false)[1] or ""
  local replaced = line:sub(anchor.col + 1, suggestion.end_col)
  local tail = line:sub(suggestion.end_col + 1)
  local lines = vim.split(suggestion.text, "\n", { plain = true })
  local first = lines[1]
  local position = "inline"
  local moved = "" -- buffer text redrawn after the first line (overlay only)
  if #lines == 1 and replaced ~= "" then
    if vim.endswith(first, replaced) then
      first = first:sub(1, #first - #replaced)
    else
      position, moved = "overlay", tail
    end
  elseif #lines > 1 and (replaced .. tail) ~= "" then
    position = "overlay"
  end
  local virt_text = { { untab(first, bufnr), M.group } }
  if moved ~= "" then
    table.insert(virt_text, { untab(moved, bufnr), "Normal" })
  end
  if position == "overlay" then
    local covered = vim.fn.strdisplaywidth(replaced .. tail)
    local drawn = vim.fn.strdisplaywidth(untab(first .. moved, bufnr))
    if drawn < covered then
      table.insert(virt_text, { string.rep(" ", covered - drawn), "Normal" })
    end
  end
  local virt_lines = {}
  for i = 2, #lines do
    table.insert(virt_lines, { { untab(lines[i], bufnr), M.group } })
  end
  if #lines > 1 and tail ~= "" then
    table.insert(virt_lines[#virt_lines], { untab(tail, bufnr), "Normal" })
  end
  if counter then
    local last = #virt_lines > 0 and virt_lines[#virt_lines] or virt_text
    table.insert(last, { counter, M.more_group })
  end
  return vim.api.nvim_buf_set_extmark(bufnr, M.namespace, anchor.row, anchor.col, {
    virt_text = virt_text,
    virt_text_pos = position,
    virt_lines = #virt_lines > 0 and virt_lines or nil,
    hl_mode = "combine",
    priority = 200,
  })
end

--- Remove the ghost text from `bufnr`.
---@param bufnr integer
function M.hide(bufnr)
  if vim.api.nvim_buf_is_valid(bufnr) then
    vim.api.nvim_buf_clear_namespace(bufnr, M.namespace, 0, -1)
  end
end

--- Whether ghost text is drawn in `bufnr`.
---@param bufnr integer
---@return boolean
function M.visible(bufnr)
  return #vim.api.nvim_buf_get_extmarks(bufnr, M.namespace, 0, -1, { limit = 1 }) > 0
end

return M
