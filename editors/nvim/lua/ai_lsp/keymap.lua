--- Buffer-local keymaps that act only when there is something to act on, and otherwise do
--- what the key did before: the mapping they shadow (nvim-cmp's `<Tab>`, ...) or the key itself.
local M = {}

---@param keys string
---@param noremap boolean
local function feed(keys, noremap) vim.api.nvim_feedkeys(keys, noremap and "n" or "m", false) end

--- Replay `previous` (a `maparg()` dictionary, possibly empty) for the key `lhs`.
---@param lhs string
---@param previous table
local function replay(lhs, previous)
  local raw = vim.keycode(lhs)
  if vim.tbl_isempty(previous) then
    -- As typed: an unmapped ALT chord then acts like <Esc> and the key (|i_ALT|).
    return vim.api.nvim_feedkeys(raw, "nt", false)
  end
  local noremap = previous.noremap == 1
  local keys ---@type string?
  if previous.callback then
    local result = previous.callback()
    if previous.expr ~= 1 then
      return
    end
    keys = type(result) == "string" and result or ""
  elseif previous.expr == 1 then
    keys = vim.api.nvim_eval(previous.rhs)
  else
    keys = previous.rhs
  end
  if previous.expr ~= 1 or previous.replace_keycodes == 1 or not previous.callback then
    keys = vim.keycode(keys)
  end
  -- Feeding our own key back through the mappings would call us again.
  feed(keys, noremap or keys == raw)
end

--- Map `lhs` in `mode` for `bufnr`: `action()` runs, and when it returns false the key falls
--- back to whatever it did before this mapping.
---@param bufnr integer
---@param mode string
---@param lhs string|false
---@param action fun(): boolean
---@param desc string
function M.set(bufnr, mode, lhs, action, desc)
  if not lhs then
    return
  end
  local previous = vim.api.nvim_buf_call(
    bufnr,
    function() return vim.fn.maparg(lhs, mode, false, true) end
  )
  if previous.buffer == 1 and previous.desc and vim.startswith(previous.desc, "ai-lsp: ") then
    previous = {} -- our own mapping from an earlier attach
  end
  vim.keymap.set(mode, lhs, function()
    if not action() then
      replay(lhs, previous)
    end
  end, { buffer = bufnr, desc = "ai-lsp: " .. desc, silent = true })
end

--- Remove a mapping made by `set` (nothing when it is not there).
---@param bufnr integer
---@param mode string
---@param lhs string|false
function M.del(bufnr, mode, lhs)
  if lhs then
    pcall(vim.keymap.del, mode, lhs, { buffer = bufnr })
  end
end

return M
