--- Inline completion items as ghost-text suggestions anchored at the cursor: reading the LSP
--- items (ranges in the client's encoding), typing through, and partial acceptance.
local lsp = require("ai_lsp.lsp")

local M = {}

---@class ai_lsp.Suggestion
---@field text string What to insert at the anchor (the part already typed is left out).
---@field end_col integer Byte column on the anchor's row where the replaced text ends (>= anchor).
---@field command lsp.Command? Run after the suggestion is accepted.

---@class ai_lsp.Anchor
---@field row integer 0-based row of the cursor.
---@field col integer Byte column of the cursor.
---@field rest string The line after the cursor when the suggestions were made.

--- Suggestions from the items of `textDocument/inlineCompletion`, for the cursor at `anchor`
--- in `bufnr` (unchanged since the request). An item's range starts at or before the cursor
--- and may end after it, on the same row (auto-closed brackets it supersedes); items that
--- replace other rows, that do not continue the text typed in their range, or that are
--- snippets are left out.
---@param bufnr integer
---@param anchor ai_lsp.Anchor
---@param items lsp.InlineCompletionItem[]
---@param encoding string The client's offset encoding.
---@return ai_lsp.Suggestion[]
function M.from_items(bufnr, anchor, items, encoding)
  local line = vim.api.nvim_buf_get_lines(bufnr, anchor.row, anchor.row + 1, false)[1] or ""
  local found = {} ---@type ai_lsp.Suggestion[]
  for _, item in ipairs(items) do
    local text = item.insertText
    local end_col = anchor.col
    local keep = type(text) == "string"
    if keep and item.range then
      local start, stop = item.range.start, item.range["end"]
      keep = start.line == anchor.row and stop.line == anchor.row
      if keep then
        local start_col = lsp.byte_col(bufnr, start, encoding)
        end_col = math.max(lsp.byte_col(bufnr, stop, encoding), anchor.col)
        local typed = line:sub(start_col + 1, anchor.col)
        keep = start_col <= anchor.col and vim.startswith(text, typed)
        text = keep and text:sub(#typed + 1) or text
      end
    end
    local replaced = line:sub(anchor.col + 1, end_col)
    if keep and text ~= "" and text ~= replaced then
      table.insert(found, { text = text, end_col = end_col, command = item.command })
    end
  end
  return found
end

--- The suggestions still valid after the user typed at the anchor: the line must be
--- `typed` inserted at the anchor with the rest unchanged, and each kept suggestion must
--- start with `typed`. Returns the new anchor and what is left of the suggestions.
---@param anchor ai_lsp.Anchor
---@param suggestions ai_lsp.Suggestion[]
---@param row integer Cursor row now.
---@param col integer Cursor byte column now.
---@param line string The cursor's line now.
---@return ai_lsp.Anchor?, ai_lsp.Suggestion[]
function M.type_through(anchor, suggestions, row, col, line)
  if row ~= anchor.row or col < anchor.col or line:sub(col + 1) ~= anchor.rest then
    return nil, {}
  end
  local typed = line:sub(anchor.col + 1, col)
  local left = {} ---@type ai_lsp.Suggestion[]
  for _, s in ipairs(suggestions) do
    local text, end_col = s.text:sub(#typed + 1), s.end_col + #typed
    if vim.startswith(s.text, typed) and text ~= "" and text ~= line:sub(col + 1, end_col) then
      table.insert(left, { text = text, end_col = end_col, command = s.command })
    end
  end
  return { row = row, col = col, rest = anchor.rest }, left
end

--- The part of `text` that "accept word" or "accept line" takes.
---@param text string
---@param unit "word"|"line"
---@return string
function M.part(text, unit)
  if unit == "line" then
    local newline = text:find("\n", 1, true)
    if newline == 1 then -- the suggestion starts a new line: take that line
      local next_newline = text:find("\n", 2, true)
      return next_newline and text:sub(1, next_newline - 1) or text
    end
    return newline and text:sub(1, newline - 1) or text
  end
  -- Bytes 128-255 are parts of non-ASCII letters: word characters too.
  return text:match("^%s*[%w_\128-\255]+")
    or text:match("^%s*[^%w_%s\128-\255]+")
    or text:match("^%s+")
    or text
end

return M
