--- ai-lsp's `AI:` code actions with every diagnostic of the lines (not only the LSP client's
--- own), and `ai-lsp.edit` (rewrite a selection, or the function at the cursor, by instruction).
local lsp = require("ai_lsp.lsp")

local api = vim.api
local M = {}

--- First and last 0-based rows of the visual selection (when in visual mode) or the cursor.
---@return integer, integer, boolean visual
local function rows()
  local mode = api.nvim_get_mode().mode
  local cursor = api.nvim_win_get_cursor(0)[1] - 1
  if mode == "v" or mode == "V" or mode == "\22" then
    local other = vim.fn.line("v") - 1
    return math.min(cursor, other), math.max(cursor, other), true
  end
  return cursor, cursor, false
end

---@param action lsp.CodeAction|lsp.Command
---@return boolean
function M.is_ai(action)
  return type(action.title) == "string" and vim.startswith(action.title, "AI:")
end

---@class ai_lsp.CodeActionOpts
---@field apply boolean? Apply at once when exactly one action is left.
---@field filter (fun(action: lsp.CodeAction|lsp.Command): boolean)? Further narrowing.
---@field only string[]? Code action kinds, e.g. `{ "quickfix" }`.
---@field range { start: integer[], ["end"]: integer[] }? As `vim.lsp.buf.code_action()`'s.

--- `vim.lsp.buf.code_action()` for ai-lsp's `AI:` actions, with the diagnostics of the
--- cursor's line (or the selected lines) from every namespace: linters and other servers
--- included, which Neovim's default request leaves out.
---@param opts ai_lsp.CodeActionOpts?
function M.code_action(opts)
  opts = opts or {}
  local bufnr = api.nvim_get_current_buf()
  if lsp.require_client(bufnr) == nil then
    return
  end
  local first, last = rows()
  if opts.range then
    first, last = opts.range.start[1] - 1, opts.range["end"][1] - 1
  end
  local diagnostics = {} ---@type vim.Diagnostic[]
  for lnum = first, last do
    vim.list_extend(diagnostics, vim.diagnostic.get(bufnr, { lnum = lnum }))
  end
  vim.lsp.buf.code_action({
    context = { diagnostics = vim.lsp.diagnostic.from(diagnostics), only = opts.only },
    filter = function(action)
      return M.is_ai(action) and (opts.filter == nil or opts.filter(action))
    end,
    apply = opts.apply,
    range = opts.range,
  })
end

---@class ai_lsp.EditOpts
---@field line1 integer? First line (1-based) of a line range, e.g. from a `:'<,'>` command.
---@field line2 integer? Last line (1-based) of that range.
---@field on_result fun(err: lsp.ResponseError?, result: table?)? Called with the command's answer.

--- The LSP range to edit: the given lines, the visual selection, or the cursor (empty range:
--- the server rewrites the definition around it).
---@param bufnr integer
---@param encoding string
---@param opts ai_lsp.EditOpts
---@return lsp.Range
local function edit_range(bufnr, encoding, opts)
  if opts.line1 and opts.line2 then
    local last = api.nvim_buf_get_lines(bufnr, opts.line2 - 1, opts.line2, false)[1] or ""
    return {
      start = lsp.position(bufnr, opts.line1 - 1, 0, encoding),
      ["end"] = lsp.position(bufnr, opts.line2 - 1, #last, encoding),
    }
  end
  local mode = api.nvim_get_mode().mode
  if mode == "v" or mode == "V" or mode == "\22" then
    local first, last = rows()
    return edit_range(bufnr, encoding, { line1 = first + 1, line2 = last + 1 })
  end
  local cursor = api.nvim_win_get_cursor(0)
  local position = lsp.position(bufnr, cursor[1] - 1, cursor[2], encoding)
  return { start = position, ["end"] = position }
end

--- Run `ai-lsp.edit` with `instruction` on a range (see `edit_range`); the server applies
--- the result with `workspace/applyEdit`. Without an instruction, ask with `vim.ui.input`.
---@param instruction string?
---@param opts ai_lsp.EditOpts?
function M.edit(instruction, opts)
  opts = opts or {}
  local bufnr = api.nvim_get_current_buf()
  local client = lsp.require_client(bufnr)
  if client == nil then
    return
  end
  local range = edit_range(bufnr, client.offset_encoding, opts)
  if api.nvim_get_mode().mode:match("^[vV\22]") then
    api.nvim_feedkeys(vim.keycode("<Esc>"), "nx", false)
  end
  local function run(text)
    if text == nil or vim.trim(text) == "" then
      return
    end
    local argument = { uri = vim.uri_from_bufnr(bufnr), range = range, instruction = text }
    lsp.execute("ai-lsp.edit", argument, function(err, result)
      if err then
        vim.notify("ai-lsp.edit failed: " .. tostring(err.message), vim.log.levels.ERROR)
      end
      -- Other failures (no model, document changed) are shown by the server itself.
      if opts.on_result then
        opts.on_result(err, result)
      end
    end, bufnr)
  end
  if instruction and vim.trim(instruction) ~= "" then
    return run(instruction)
  end
  vim.ui.input({ prompt = "AI edit: " }, run)
end

return M
