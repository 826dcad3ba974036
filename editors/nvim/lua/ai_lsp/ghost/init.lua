--- Ghost text for the buffers ai-lsp is attached to: Neovim's own `vim.lsp.inline_completion`
--- where it exists (0.12+), else the extmark renderer of `ai_lsp.ghost.session` (0.11).
local keymap = require("ai_lsp.keymap")
local Session = require("ai_lsp.ghost.session")

local api = vim.api
local M = {}

---@type table<integer, ai_lsp.GhostSession>
local sessions = {}
---@type table<integer, integer> Buffer → client id, for every attached buffer.
local attached = {}
local enabled = true
---@type ai_lsp.GhostOptions?
local options

--- Whether Neovim draws inline completions itself (0.12+).
---@return boolean
function M.native()
  return vim.lsp.inline_completion ~= nil and vim.lsp.inline_completion.enable ~= nil
end

---@param bufnr integer?
---@return ai_lsp.GhostSession?
local function session(bufnr)
  return sessions[(bufnr == nil or bufnr == 0) and api.nvim_get_current_buf() or bufnr]
end

--- The shown suggestion's text in the current buffer (0.11 renderer), if any.
---@return string?
function M.text()
  local s = session()
  local shown = s and s:current()
  return shown and shown.text or nil
end

--- Whether a suggestion is shown in the current buffer.
---@return boolean
function M.is_visible()
  if M.native() then
    return false -- Neovim 0.12 keeps its state private; `accept()` reports it instead.
  end
  return M.text() ~= nil and require("ai_lsp.ghost.render").visible(api.nvim_get_current_buf())
end

--- Accept the shown suggestion (all of it, or its next word or line).
---@param unit ("all"|"word"|"line")?
---@return boolean accepted False when nothing was shown.
function M.accept(unit)
  unit = unit or "all"
  if M.native() then
    return require("ai_lsp.ghost.native").accept(unit)
  end
  local s = session()
  return s ~= nil and s:accept(unit)
end

--- Show the next (`step` 1) or previous (-1) candidate.
---@param step integer
---@return boolean
function M.cycle(step)
  if M.native() then
    return require("ai_lsp.ghost.native").cycle(step)
  end
  local s = session()
  return s ~= nil and s:cycle(step)
end

--- Hide the suggestion until the next edit.
---@return boolean
function M.dismiss()
  if M.native() then
    return require("ai_lsp.ghost.native").dismiss()
  end
  local s = session()
  return s ~= nil and s:dismiss()
end

--- Ask for a suggestion now.
---@return boolean
function M.suggest()
  if M.native() then
    return false -- Neovim asks by itself while typing
  end
  local s = session()
  return s ~= nil and s:suggest()
end

---@param bufnr integer
---@param client_id integer
local function start_session(bufnr, client_id)
  local s = Session.new(bufnr, client_id, assert(options))
  sessions[bufnr] = s
  local group = api.nvim_create_augroup("ai_lsp.ghost." .. bufnr, { clear = true })
  local function on(events, callback)
    api.nvim_create_autocmd(events, { group = group, buffer = bufnr, callback = callback })
  end
  on("InsertEnter", function() s:on_insert_enter() end)
  on({ "TextChangedI", "TextChangedP", "CursorMovedI" }, function() s:on_change() end)
  -- The completion menu hides the ghost text (`hide_during_completion`) while it is open.
  on("CompleteChanged", function()
    vim.schedule(function() s:draw() end)
  end)
  on("CompleteDone", function()
    vim.schedule(function()
      if s:active() then
        s:on_change()
        s:draw()
      end
    end)
  end)
  on({ "InsertLeave", "BufLeave" }, function() s:on_leave() end)
  api.nvim_create_autocmd("ModeChanged", {
    group = group,
    pattern = "i:*",
    callback = function()
      if api.nvim_get_current_buf() == bufnr then
        s:on_leave()
      end
    end,
  })
  if api.nvim_get_current_buf() == bufnr and api.nvim_get_mode().mode:sub(1, 1) == "i" then
    s:on_insert_enter()
  end
end

---@param bufnr integer
local function stop_session(bufnr)
  local s = sessions[bufnr]
  if s then
    s:close()
    sessions[bufnr] = nil
    pcall(api.nvim_del_augroup_by_name, "ai_lsp.ghost." .. bufnr)
  end
end

---@param bufnr integer
---@param client_id integer
local function turn_on(bufnr, client_id)
  if M.native() then
    require("ai_lsp.ghost.native").enable(client_id, true)
  elseif sessions[bufnr] == nil then
    start_session(bufnr, client_id)
  end
end

---@param bufnr integer
---@param client_id integer
local function turn_off(bufnr, client_id)
  if M.native() then
    require("ai_lsp.ghost.native").enable(client_id, false)
  else
    stop_session(bufnr)
  end
end

--- Start ghost text in `bufnr` for the ai-lsp client, with its insert-mode keys.
---@param bufnr integer
---@param client vim.lsp.Client
---@param opts ai_lsp.GhostOptions
function M.attach(bufnr, client, opts)
  options = opts
  attached[bufnr] = client.id
  local keys = opts.keymaps
  local function map(lhs, action, desc) keymap.set(bufnr, "i", lhs, action, desc) end
  map(keys.accept, function() return M.accept("all") end, "accept the suggestion")
  map(keys.accept_word, function() return M.accept("word") end, "accept a word of the suggestion")
  map(keys.accept_line, function() return M.accept("line") end, "accept a line of the suggestion")
  map(keys.next, function() return M.cycle(1) end, "next suggestion")
  map(keys.prev, function() return M.cycle(-1) end, "previous suggestion")
  map(keys.dismiss, M.dismiss, "dismiss the suggestion")
  map(keys.suggest, M.suggest, "suggest now")
  if enabled then
    turn_on(bufnr, client.id)
  end
end

--- Stop ghost text in `bufnr` (the client detached or the buffer is gone).
---@param bufnr integer
function M.detach(bufnr)
  local client_id = attached[bufnr]
  attached[bufnr] = nil
  stop_session(bufnr) -- Neovim's own inline completion follows the client's detach itself
  if client_id and api.nvim_buf_is_valid(bufnr) then
    for _, lhs in pairs(options and options.keymaps or {}) do
      keymap.del(bufnr, "i", lhs)
    end
  end
end

--- Turn ghost text on or off in every attached buffer.
---@param on boolean
function M.set_enabled(on)
  enabled = on
  for bufnr, client_id in pairs(attached) do
    if on then
      turn_on(bufnr, client_id)
    else
      turn_off(bufnr, client_id)
    end
  end
end

---@return boolean
function M.is_enabled() return enabled end

--- Set whether ghost text starts in buffers attached from now on (from `setup()`).
---@param on boolean
function M.init(on) enabled = on end

return M
