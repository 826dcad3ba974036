-- Headless Neovim 0.11 with the editors/nvim plugin: AI code actions and AI edits.
--   fix             a linter's diagnostic (not an LSP client's): require("ai_lsp").code_action
--                   { apply = true } sends it, keeps the `AI:` action and applies the fix.
--   edit_selection  `:AiLspEdit make it faster` typed on a linewise visual selection.
--   edit_prompted   `:AiLspEdit` with no selection nor instruction: vim.ui.input asks, and
--                   the function around the cursor is rewritten.
-- Environment: see plugin_harness.lua, plus AI_LSP_DIR (the workspace holding shop.py).
local H =
  dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)), "plugin_harness.lua"))
local dir = assert(os.getenv("AI_LSP_DIR"))
local results = H.results
local api = vim.api

--- 1-based row of the first line containing `needle`.
---@param bufnr integer
---@param needle string
---@return integer
local function row_of(bufnr, needle)
  for i, line in ipairs(api.nvim_buf_get_lines(bufnr, 0, -1, false)) do
    if line:find(needle, 1, true) then
      return i
    end
  end
  error("no line with " .. needle)
end

--- Wait until the buffer changes, then a little more (a second edit would be a bug).
---@param bufnr integer
---@param tick integer
local function wait_change(bufnr, tick)
  H.wait_for(function() return api.nvim_buf_get_changedtick(bufnr) ~= tick end, 20000)
  H.sleep(200)
end

H.run({}, function()
  local bufnr, client = H.open(dir .. "/shop.py")

  -- Record the results of ai-lsp.edit (the server's answer to executeCommand).
  local executed = {}
  local request = client.request
  client.request = function(self, method, params, handler, b)
    if method ~= "workspace/executeCommand" then
      return request(self, method, params, handler, b)
    end
    local entry = { argument = params.arguments[1] }
    table.insert(executed, entry)
    return request(self, method, params, function(err, result, ctx, config)
      entry.error, entry.result = err and err.message or vim.NIL, result or vim.NIL
      return handler(err, result, ctx, config)
    end, b)
  end

  -- 1. A linter's diagnostic on `return reslt`.
  local fix_row = row_of(bufnr, "return reslt")
  local col = api.nvim_buf_get_lines(bufnr, fix_row - 1, fix_row, false)[1]:find("reslt", 1, true)
    - 1
  local linter = api.nvim_create_namespace("test-linter")
  vim.diagnostic.set(linter, bufnr, {
    {
      lnum = fix_row - 1,
      col = col,
      end_col = col + #"reslt",
      severity = vim.diagnostic.severity.ERROR,
      message = '"reslt" is not defined',
      source = "pyright",
    },
  })
  api.nvim_win_set_cursor(0, { fix_row, col })
  local titles = {}
  local tick = api.nvim_buf_get_changedtick(bufnr)
  require("ai_lsp").code_action({
    apply = true,
    filter = function(action)
      table.insert(titles, action.title)
      return true
    end,
  })
  wait_change(bufnr, tick)
  table.insert(results.steps, { name = "fix", titles = titles, text = H.text(bufnr) })

  -- 2. `:AiLspEdit make it faster` on the three lines of `area`, selected linewise.
  api.nvim_win_set_cursor(0, { row_of(bufnr, "def area"), 0 })
  tick = api.nvim_buf_get_changedtick(bufnr)
  H.type("V2j:AiLspEdit make it faster<CR>")
  wait_change(bufnr, tick)
  H.wait_for(function() return executed[1] and executed[1].result ~= nil end, 5000)
  table.insert(results.steps, {
    name = "edit_selection",
    text = H.text(bufnr),
    sent = executed[1],
    mode = api.nvim_get_mode().mode,
  })

  -- 3. `:AiLspEdit` in `total` with nothing selected: the instruction is asked for.
  local asked
  vim.ui.input = function(opts, on_confirm)
    asked = opts.prompt
    vim.schedule(function() on_confirm("add type hints") end)
  end
  api.nvim_win_set_cursor(0, { row_of(bufnr, "result = 0"), 4 })
  tick = api.nvim_buf_get_changedtick(bufnr)
  vim.cmd("AiLspEdit")
  wait_change(bufnr, tick)
  table.insert(results.steps, {
    name = "edit_prompted",
    asked = asked,
    text = H.text(bufnr),
    sent = executed[2],
  })

  H.stop_clients()
end)
