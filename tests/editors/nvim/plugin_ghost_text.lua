-- Headless Neovim 0.11 with the editors/nvim plugin: ghost text as a user types.
--   closers.py  the item's range (UTF-16, after an emoji and CJK) replaces an auto-closed `)`:
--               drawn once, accepted over it.
--   multi.py    typed indentation (TextChangedI) brings a two-line suggestion; accepted.
--   words.py    two candidates cycled, one word accepted (the rest stays), then dismissed.
--   stale.py    the model answers late and the user typed meanwhile: never shown.
--   held.py     the server's answer reaches Neovim after the user typed: never shown.
--   toggled.py  :AiLspToggleGhostText off: typing asks nothing, the accept key falls back to
--               the user's own mapping; then the :AiLsp* reports open.
-- Environment: see plugin_harness.lua, plus AI_LSP_DIR (the workspace holding the files).
local H =
  dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)), "plugin_harness.lua"))
local dir = assert(os.getenv("AI_LSP_DIR"))
local results = H.results
local api = vim.api

-- Every extmark the plugin draws, as it is drawn (ghost text shown even for an instant counts).
local render = require("ai_lsp.ghost.render")
local drawn = {} ---@type string[]
local set_extmark = api.nvim_buf_set_extmark
api.nvim_buf_set_extmark = function(bufnr, ns, row, col, opts)
  if ns == render.namespace then
    local text = ""
    for _, chunk in ipairs(opts.virt_text or {}) do
      text = text .. chunk[1]
    end
    table.insert(drawn, text)
  end
  return set_extmark(bufnr, ns, row, col, opts)
end

--- The ghost-text extmark of `bufnr`: position, virt_text, virt_lines, virt_text_pos.
---@param bufnr integer
---@return table?
local function ghost(bufnr)
  local marks = api.nvim_buf_get_extmarks(bufnr, render.namespace, 0, -1, { details = true })
  local mark = marks[1]
  if mark == nil then
    return nil
  end
  local details = mark[4]
  return {
    row = mark[2],
    col = mark[3],
    virt_text = details.virt_text,
    virt_lines = details.virt_lines or {},
    pos = details.virt_text_pos,
  }
end

--- Record inlineCompletion requests and cancellations; optionally hold answers back.
local requests, cancelled, held = {}, {}, {}
local hold = false
local function instrument(client)
  local request, cancel = client.request, client.cancel_request
  client.request = function(self, method, params, handler, bufnr)
    if method ~= "textDocument/inlineCompletion" then
      return request(self, method, params, handler, bufnr)
    end
    local entry = { line = params.position.line, character = params.position.character }
    table.insert(requests, entry)
    local ok, id = request(self, method, params, function(err, result, ctx, config)
      entry.answered = true
      entry.error = err and err.code or nil
      if hold and not err then
        table.insert(held, function() handler(err, result, ctx, config) end)
        return
      end
      return handler(err, result, ctx, config)
    end, bufnr)
    entry.id = id
    return ok, id
  end
  client.cancel_request = function(self, id)
    table.insert(cancelled, id)
    return cancel(self, id)
  end
end

local function step(name, data)
  data.name = name
  table.insert(results.steps, data)
end

local function visible_text(bufnr)
  local g = ghost(bufnr)
  return g and g.virt_text[1][1] or nil
end

-- A user's own insert-mode mapping of the accept key, made before the plugin's.
vim.keymap.set("i", "<M-l>", "FALLBACK")

H.run({ ghost_text = { debounce_ms = 0 } }, function()
  -- Positions in UTF-16 (as most servers use), so that ranges need converting to bytes.
  vim.lsp.config("ai_lsp", { capabilities = { general = { positionEncodings = { "utf-16" } } } })
  -- 1. closers.py: `round(|)` with the `)` auto-closed; the item replaces it.
  local bufnr, client = H.open(dir .. "/closers.py")
  instrument(client)
  results.offset_encoding = client.offset_encoding
  local closers_text = H.text(bufnr)
  api.nvim_win_set_cursor(0, { 2, tonumber(os.getenv("AI_LSP_CLOSERS_COL")) })
  local t0 = H.now_ms()
  H.type("i")
  local shown = H.wait_for(function() return ghost(bufnr) ~= nil end, 10000)
  local first_ms = H.now_ms() - t0
  local mark = ghost(bufnr)
  H.type("<M-l>")
  H.wait_for(function() return H.text(bufnr) ~= closers_text end, 2000)
  step("closers", {
    shown = shown,
    ms = first_ms,
    mark = mark,
    text = H.text(bufnr),
    cursor = api.nvim_win_get_cursor(0),
  })
  H.type("<Esc>")
  H.sleep(50)

  -- 2. multi.py: typing four spaces in an empty body asks for (and shows) a block.
  bufnr = H.open(dir .. "/multi.py")
  api.nvim_win_set_cursor(0, { 2, 0 })
  H.type("i")
  H.sleep(30)
  t0 = H.now_ms()
  H.type("    ")
  shown = H.wait_for(function() return ghost(bufnr) ~= nil end, 10000)
  local typed_ms = H.now_ms() - t0
  mark = ghost(bufnr)
  H.type("<M-l>")
  H.wait_for(function() return #api.nvim_buf_get_lines(bufnr, 0, -1, false) > 2 end, 2000)
  step("multi", {
    shown = shown,
    ms = typed_ms,
    mark = mark,
    text = H.text(bufnr),
    cursor = api.nvim_win_get_cursor(0),
  })
  H.type("<Esc>")
  H.sleep(50)

  -- 3. words.py: two candidates; cycle; accept one word; dismiss.
  bufnr = H.open(dir .. "/words.py")
  api.nvim_win_set_cursor(0, { 2, 0 })
  t0 = H.now_ms()
  H.type("A")
  shown = H.wait_for(function() return ghost(bufnr) ~= nil end, 10000)
  local warm_ms = H.now_ms() - t0
  local words = { shown = shown, ms = warm_ms, first = ghost(bufnr) }
  H.type("<M-]>")
  H.wait_for(function() return visible_text(bufnr) ~= words.first.virt_text[1][1] end, 1000)
  words.next = ghost(bufnr)
  H.type("<M-[>")
  H.wait_for(function() return visible_text(bufnr) ~= words.next.virt_text[1][1] end, 1000)
  words.prev = ghost(bufnr)
  local asked = #requests
  H.type("<M-w>")
  H.wait_for(function() return H.text(bufnr) ~= "def f(items):\n    return \n" end, 2000)
  H.sleep(100)
  words.after_word = { text = H.text(bufnr), mark = ghost(bufnr), requests = #requests - asked }
  H.type("<C-]>")
  H.wait_for(function() return ghost(bufnr) == nil end, 1000)
  H.sleep(300)
  words.after_dismiss =
    { text = H.text(bufnr), shown = ghost(bufnr) ~= nil, mode = api.nvim_get_mode().mode }
  step("words", words)
  H.type("<Esc>")
  H.sleep(50)

  -- 4. stale.py: the model is slow; the user types before it answers.
  bufnr = H.open(dir .. "/stale.py")
  api.nvim_win_set_cursor(0, { 2, 0 })
  local before = #requests
  drawn = {}
  H.type("A")
  H.wait_for(function() return #requests > before end, 2000)
  local slow = requests[#requests]
  local slow_sent = H.now_ms()
  H.sleep(300) -- the server has sent it to the (slow) model
  t0 = H.now_ms()
  H.type("z")
  shown = H.wait_for(function() return visible_text(bufnr) ~= nil end, 5000)
  local fresh, fresh_ms = visible_text(bufnr), H.now_ms() - t0
  -- Past the slow answer's delay (1 s): had it been shown, it would be by now.
  H.sleep(math.max(0, math.floor(slow_sent + 1500 - H.now_ms())))
  step("stale", {
    fresh = fresh,
    drawn = drawn,
    slow_cancelled = vim.tbl_contains(cancelled, slow.id),
    text = H.text(bufnr),
    final = visible_text(bufnr) or vim.NIL,
    fresh_ms = fresh_ms,
  })
  H.type("<Esc>")
  H.sleep(50)
  results.steps[#results.steps].after_esc = ghost(bufnr) ~= nil

  -- 5. held.py: the answer is delayed between the server and the plugin (a busy editor).
  bufnr = H.open(dir .. "/held.py")
  api.nvim_win_set_cursor(0, { 1, 0 })
  drawn = {}
  hold = true
  before = #requests
  H.type("A")
  H.wait_for(function() return #held > 0 end, 5000)
  local held_count = #held
  hold = false
  H.type("q")
  H.wait_for(function() return visible_text(bufnr) ~= nil end, 5000)
  local fresh_held = visible_text(bufnr)
  for _, deliver in ipairs(held) do
    deliver()
  end
  H.sleep(200)
  step("held", {
    held = held_count,
    fresh = fresh_held,
    drawn = drawn,
    final = visible_text(bufnr) or vim.NIL,
    text = H.text(bufnr),
  })
  H.type("<Esc>")
  H.sleep(50)

  -- 6. toggled.py: ghost text off asks nothing; then the report commands.
  bufnr = H.open(dir .. "/toggled.py")
  vim.cmd("AiLspToggleGhostText")
  before = #requests
  api.nvim_win_set_cursor(0, { 1, 0 })
  H.type("Aab")
  H.sleep(400)
  -- With nothing shown, the accept key does what it did before the plugin mapped it.
  H.type("<M-l>")
  H.sleep(100)
  local off = { requests = #requests - before, mark = ghost(bufnr) ~= nil, text = H.text(bufnr) }
  H.type("<Esc>")
  H.sleep(50)
  vim.cmd("AiLspToggleGhostText")
  before = #requests
  H.type("Ac")
  H.wait_for(function() return #requests > before end, 2000)
  off.requests_after_on = #requests - before
  step("toggled", off)
  H.type("<Esc>")
  H.sleep(50)

  --- The lines of the floating report `command` opens.
  local function report(command)
    for _, win in ipairs(api.nvim_list_wins()) do
      if api.nvim_win_get_config(win).relative ~= "" then
        api.nvim_win_close(win, true)
      end
    end
    vim.cmd(command)
    local lines
    H.wait_for(function()
      for _, win in ipairs(api.nvim_list_wins()) do
        if api.nvim_win_get_config(win).relative ~= "" then
          lines = api.nvim_buf_get_lines(api.nvim_win_get_buf(win), 0, -1, false)
          return true
        end
      end
      return false
    end, 5000)
    return lines
  end
  vim.cmd.buffer(vim.fn.bufnr(dir .. "/closers.py"))
  results.reports = {
    explain = report("AiLspExplain"),
    usage = report("AiLspUsage"),
    index = report("AiLspIndexStatus"),
  }
  results.requests = requests
  H.stop_clients()
end)
