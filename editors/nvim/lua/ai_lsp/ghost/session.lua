--- Ghost text in one buffer on Neovim 0.11 (no native inline completion): debounced
--- `textDocument/inlineCompletion` requests while typing, the previous one cancelled, stale
--- answers dropped, the first item drawn as extmarks, typing through it, accepting and cycling.
local render = require("ai_lsp.ghost.render")
local suggestion = require("ai_lsp.ghost.suggestion")

local api = vim.api
local AUTOMATIC, INVOKED = 2, 1 -- lsp.InlineCompletionTriggerKind
local QUIET = { [-32800] = true, [-32801] = true } -- RequestCancelled, ContentModified

---@class ai_lsp.GhostSession
---@field bufnr integer
---@field client_id integer
---@field options ai_lsp.GhostOptions
---@field timer uv.uv_timer_t?
---@field request_id integer? The request whose answer is awaited.
---@field anchor ai_lsp.Anchor? Where the shown suggestions start.
---@field items ai_lsp.Suggestion[]
---@field index integer The shown item.
---@field seen { tick: integer, row: integer, col: integer }? Buffer state last handled.
local Session = {}
Session.__index = Session

---@param bufnr integer
---@param client_id integer
---@param options ai_lsp.GhostOptions
---@return ai_lsp.GhostSession
function Session.new(bufnr, client_id, options)
  return setmetatable(
    { bufnr = bufnr, client_id = client_id, options = options, items = {}, index = 1 },
    Session
  )
end

---@return boolean
local function in_insert_mode() return api.nvim_get_mode().mode:sub(1, 1) == "i" end

--- Whether the cursor is in this buffer, in insert mode.
---@return boolean
function Session:active() return api.nvim_get_current_buf() == self.bufnr and in_insert_mode() end

---@return { tick: integer, row: integer, col: integer }
function Session:state()
  local cursor = api.nvim_win_get_cursor(0)
  return { tick = api.nvim_buf_get_changedtick(self.bufnr), row = cursor[1] - 1, col = cursor[2] }
end

--- The shown suggestion, if any.
---@return ai_lsp.Suggestion?
function Session:current() return self.anchor and self.items[self.index] or nil end

function Session:draw()
  local shown = self:current()
  if shown == nil or not self:active() then
    return render.hide(self.bufnr)
  end
  if self.options.hide_during_completion and vim.fn.pumvisible() == 1 then
    return render.hide(self.bufnr)
  end
  local counter = #self.items > 1 and (" (%d/%d)"):format(self.index, #self.items) or nil
  render.show(self.bufnr, self.anchor, shown, counter)
end

--- Forget and hide the suggestions (the next edit asks again).
function Session:clear()
  self.anchor, self.items, self.index = nil, {}, 1
  render.hide(self.bufnr)
end

--- Cancel the pending request and the debounce timer.
function Session:cancel()
  if self.timer then
    self.timer:stop()
  end
  local id = self.request_id
  self.request_id = nil
  local client = id and vim.lsp.get_client_by_id(self.client_id)
  if client then
    client:cancel_request(id)
  end
end

--- Ask the server for suggestions at the cursor; the answer is shown only if it is still
--- the latest request and neither the buffer nor the cursor changed meanwhile.
---@param kind integer lsp.InlineCompletionTriggerKind
function Session:request(kind)
  self:cancel()
  local client = vim.lsp.get_client_by_id(self.client_id)
  if client == nil or not self:active() then
    return
  end
  local asked = self:state()
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  ---@cast params lsp.InlineCompletionParams
  params.context = { triggerKind = kind }
  local id ---@type integer?
  local ok
  ok, id = client:request("textDocument/inlineCompletion", params, function(err, result)
    if id == nil or self.request_id ~= id then
      return -- cancelled or superseded
    end
    self.request_id = nil
    if err then
      if not QUIET[err.code] then
        vim.lsp.log.warn("ai-lsp inlineCompletion failed:", err)
      end
      return
    end
    local now = self:state()
    if not self:active() or not vim.deep_equal(now, asked) then
      return -- stale: the text or the cursor moved on
    end
    local line = api.nvim_buf_get_lines(self.bufnr, now.row, now.row + 1, false)[1] or ""
    local anchor = { row = now.row, col = now.col, rest = line:sub(now.col + 1) }
    local items = suggestion.from_items(
      self.bufnr,
      anchor,
      result and (result.items or result) or {},
      client.offset_encoding
    )
    self.anchor = #items > 0 and anchor or nil
    self.items, self.index = items, 1
    self:draw()
  end, self.bufnr)
  if ok then
    self.request_id = id
  end
end

--- Ask after `debounce_ms` of quiet.
function Session:schedule()
  if self.timer == nil then
    self.timer = assert(vim.uv.new_timer())
  end
  self.timer:stop()
  self.timer:start(
    self.options.debounce_ms,
    0,
    vim.schedule_wrap(function()
      if self.timer and self:active() then
        self:request(AUTOMATIC)
      end
    end)
  )
end

--- Entering insert mode: ask for the cursor's position.
function Session:on_insert_enter()
  self:clear()
  self.seen = self:state()
  self:schedule()
end

--- Text changed or the cursor moved in insert mode (handled once per state): keep what is
--- left of the suggestion when the user typed its start, else drop it and ask again.
function Session:on_change()
  local now = self:state()
  if self.seen and vim.deep_equal(now, self.seen) then
    return
  end
  local edited = self.seen == nil or self.seen.tick ~= now.tick
  self.seen = now
  self:cancel()
  if edited and self.anchor then
    local line = api.nvim_buf_get_lines(self.bufnr, now.row, now.row + 1, false)[1] or ""
    local shown = self.items[self.index]
    local anchor, left = suggestion.type_through(self.anchor, self.items, now.row, now.col, line)
    self.anchor, self.items, self.index = #left > 0 and anchor or nil, left, 1
    for i, item in ipairs(left) do
      if shown and vim.endswith(shown.text, item.text) then
        self.index = i
        break
      end
    end
    if self.anchor then
      return self:draw()
    end
  end
  self:clear()
  self:schedule()
end

--- Leaving insert mode or the buffer: nothing stays on screen, nothing stays in flight.
function Session:on_leave()
  self:cancel()
  self:clear()
  self.seen = nil
end

--- Accept the shown suggestion, or its next word or line.
---@param unit "all"|"word"|"line"
---@return boolean accepted False when no suggestion is shown.
function Session:accept(unit)
  local shown = self:current()
  if shown == nil or not self:active() or not render.visible(self.bufnr) then
    return false
  end
  local anchor = assert(self.anchor)
  local text = unit == "all" and shown.text or suggestion.part(shown.text, unit)
  local whole = text == shown.text
  local lines = vim.split(text, "\n", { plain = true })
  local end_col = whole and shown.end_col or anchor.col
  api.nvim_buf_set_text(self.bufnr, anchor.row, anchor.col, anchor.row, end_col, lines)
  local row = anchor.row + #lines - 1
  local col = (#lines == 1 and anchor.col or 0) + #lines[#lines]
  api.nvim_win_set_cursor(0, { row + 1, col })
  if whole then
    self:clear()
    local client = vim.lsp.get_client_by_id(self.client_id)
    if shown.command and client then
      client:exec_cmd(shown.command, { bufnr = self.bufnr })
    end
  end
  -- A partial accept is typing through: `on_change` keeps the rest on screen.
  return true
end

--- Show the candidate `step` places further (wrapping).
---@param step integer
---@return boolean moved False when no suggestion is shown.
function Session:cycle(step)
  if self:current() == nil or not render.visible(self.bufnr) then
    return false
  end
  self.index = (self.index - 1 + step) % #self.items + 1
  self:draw()
  return true
end

--- Hide the suggestion until the next edit.
---@return boolean dismissed False when none was shown.
function Session:dismiss()
  local shown = self:current() ~= nil and render.visible(self.bufnr)
  self:cancel()
  self:clear()
  return shown
end

--- Ask now, without debounce (the "invoked" trigger: the server skips its debounce too).
---@return boolean
function Session:suggest()
  if not self:active() then
    return false
  end
  self:clear()
  self:request(INVOKED)
  return true
end

--- Release the timer and hide everything (detach, buffer unloaded, plugin disabled).
function Session:close()
  self:on_leave()
  if self.timer then
    self.timer:stop()
    self.timer:close()
    self.timer = nil
  end
end

return Session
