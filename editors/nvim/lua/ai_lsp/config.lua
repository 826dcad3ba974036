--- Options of `require("ai_lsp").setup()`: defaults, merging and validation.
local M = {}

---@class ai_lsp.GhostKeymaps
---@field accept string|false Accept the whole suggestion (falls back to the key's own meaning).
---@field accept_word string|false Accept the next word of the suggestion.
---@field accept_line string|false Accept the rest of the suggestion's current line.
---@field next string|false Show the next candidate.
---@field prev string|false Show the previous candidate.
---@field dismiss string|false Hide the suggestion.
---@field suggest string|false Ask for a suggestion now (no debounce, "invoked" trigger).

---@class ai_lsp.GhostOptions
---@field enabled boolean Show ghost text (`textDocument/inlineCompletion`) while typing.
---@field debounce_ms integer Wait this long after the last keystroke before asking (the server debounces too).
---@field hide_during_completion boolean Hide ghost text while the completion menu is open.
---@field keymaps ai_lsp.GhostKeymaps Insert-mode keys, set in buffers where ai-lsp is attached.

---@class ai_lsp.CodeActionKeymaps
---@field code_action string|false Normal/visual key for `require("ai_lsp").code_action()`.
---@field edit string|false Normal/visual key for `require("ai_lsp").edit()` (prompts for the instruction).

---@class ai_lsp.CodeActionOptions
---@field keymaps ai_lsp.CodeActionKeymaps

---@class ai_lsp.CompletionOptions
---@field native boolean Enable Neovim's own `vim.lsp.completion` for ai-lsp's items (leave off with nvim-cmp/blink.cmp).
---@field autotrigger boolean With `native`, open the menu while typing.

---@class ai_lsp.Options
---@field cmd string[] The server command (add `"--log-file", path` to debug).
---@field filetypes string[]? Filetypes to attach to; nil attaches to every file buffer.
---@field root_markers string[] Files or folders that mark the workspace root.
---@field init_options table? `initializationOptions`: the ai-lsp settings tree (see `ai-lsp config --schema`).
---@field settings table? Sent with `workspace/didChangeConfiguration`, e.g. `{ aiLsp = { ... } }`.
---@field ghost_text ai_lsp.GhostOptions
---@field code_actions ai_lsp.CodeActionOptions
---@field completion ai_lsp.CompletionOptions

---@type ai_lsp.Options
M.defaults = {
  cmd = { "ai-lsp" },
  filetypes = nil,
  root_markers = { ".git" },
  init_options = nil,
  settings = nil,
  ghost_text = {
    enabled = true,
    debounce_ms = 75,
    hide_during_completion = true,
    keymaps = {
      accept = "<M-l>",
      accept_word = "<M-w>",
      accept_line = "<M-j>",
      next = "<M-]>",
      prev = "<M-[>",
      dismiss = "<C-]>",
      suggest = "<M-\\>",
    },
  },
  code_actions = {
    keymaps = {
      code_action = "grA",
      edit = "grE",
    },
  },
  completion = {
    native = false,
    autotrigger = false,
  },
}

---@type ai_lsp.Options
M.options = vim.deepcopy(M.defaults)

local function key(value) return value == false or type(value) == "string" end

--- Merge `opts` over the defaults, check the types and store the result in `M.options`.
---@param opts table?
---@return ai_lsp.Options
function M.set(opts)
  local merged = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts or {})
  -- Lists replace the defaults instead of merging index by index.
  for _, list in ipairs({ "cmd", "filetypes", "root_markers" }) do
    if opts and opts[list] ~= nil then
      merged[list] = opts[list]
    end
  end
  vim.validate("cmd", merged.cmd, "table")
  vim.validate("filetypes", merged.filetypes, "table", true)
  vim.validate("root_markers", merged.root_markers, "table")
  vim.validate("init_options", merged.init_options, "table", true)
  vim.validate("settings", merged.settings, "table", true)
  vim.validate("ghost_text.enabled", merged.ghost_text.enabled, "boolean")
  vim.validate("ghost_text.debounce_ms", merged.ghost_text.debounce_ms, "number")
  for name, value in pairs(merged.ghost_text.keymaps) do
    vim.validate("ghost_text.keymaps." .. name, value, key, "a key or false")
  end
  for name, value in pairs(merged.code_actions.keymaps) do
    vim.validate("code_actions.keymaps." .. name, value, key, "a key or false")
  end
  M.options = merged
  return merged
end

return M
