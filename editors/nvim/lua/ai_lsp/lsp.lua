--- The ai-lsp client of a buffer, and `workspace/executeCommand` for its `ai-lsp.*` commands.
local M = {}

--- Name of the `vim.lsp.config` entry (and so of the client).
M.name = "ai_lsp"

--- The ai-lsp client attached to `bufnr`, if any.
---@param bufnr integer? Buffer (default: current).
---@return vim.lsp.Client?
function M.client(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  return vim.lsp.get_clients({ bufnr = bufnr, name = M.name })[1]
end

--- The client, or nil after telling the user that ai-lsp is not attached.
---@param bufnr integer?
---@return vim.lsp.Client?
function M.require_client(bufnr)
  local client = M.client(bufnr)
  if client == nil then
    vim.notify(
      "ai-lsp is not attached to this buffer (see :checkhealth vim.lsp)",
      vim.log.levels.WARN
    )
  end
  return client
end

--- Run an `ai-lsp.*` command and call `on_result(err, result)` with the server's answer.
---@param command string Command id, e.g. "ai-lsp.usage".
---@param argument table? The single argument object (`{}` when nil).
---@param on_result fun(err: lsp.ResponseError?, result: any)
---@param bufnr integer?
---@return boolean sent Whether a client took the request.
function M.execute(command, argument, on_result, bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local client = M.require_client(bufnr)
  if client == nil then
    return false
  end
  if argument == nil or vim.tbl_isempty(argument) then
    argument = vim.empty_dict() -- `{}` would be sent as a JSON list
  end
  local params = { command = command, arguments = { argument } }
  local ok = client:request(
    "workspace/executeCommand",
    params,
    function(err, result) on_result(err, result) end,
    bufnr
  )
  return ok
end

--- An LSP position of (0-based `row`, byte `col`) in `bufnr`, in the client's encoding.
---@param bufnr integer
---@param row integer
---@param col integer
---@param encoding string "utf-8"|"utf-16"|"utf-32"
---@return lsp.Position
function M.position(bufnr, row, col, encoding)
  local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ""
  col = math.min(col, #line)
  return { line = row, character = vim.str_utfindex(line, encoding, col, false) }
end

--- The byte column of an LSP position in `bufnr` (clamped to the line).
---@param bufnr integer
---@param position lsp.Position
---@param encoding string
---@return integer
function M.byte_col(bufnr, position, encoding)
  local line = vim.api.nvim_buf_get_lines(bufnr, position.line, position.line + 1, false)[1] or ""
  local ok, col = pcall(vim.str_byteindex, line, encoding, position.character, false)
  return ok and math.min(col, #line) or #line
end

return M
