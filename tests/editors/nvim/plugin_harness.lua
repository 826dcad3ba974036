-- Shared by the plugin_*.lua scripts: load the editors/nvim plugin, run a scenario as a
-- coroutine (so that typed keys and server answers are processed between its steps), and
-- write the results as JSON when it ends, fails or times out.
-- Environment: AI_LSP_PLUGIN (editors/nvim), AI_LSP_CMD (JSON list), AI_LSP_INIT (JSON init
-- options), AI_LSP_OUT (result file).
local H = {}

H.results = { steps = {} }
local finished = false
local scenario ---@type thread?

---@param status string
function H.finish(status)
  if finished then
    return
  end
  finished = true
  H.results.status = status
  local f = assert(io.open(os.getenv("AI_LSP_OUT"), "w"))
  f:write(vim.json.encode(H.results))
  f:close()
  vim.cmd("qall!")
end

local watchdog = assert(vim.uv.new_timer())
watchdog:start(45000, 0, vim.schedule_wrap(function() H.finish("timeout") end))

vim.opt.runtimepath:prepend(os.getenv("AI_LSP_PLUGIN"))

--- Resume the scenario (from a timer or an autocmd), recording a Lua error as the result.
local function resume()
  local ok, err = coroutine.resume(assert(scenario))
  if not ok then
    H.results.lua_error = debug.traceback(scenario, err)
    H.finish("error")
  elseif coroutine.status(scenario) == "dead" then
    H.finish("done")
  end
end

--- Let the event loop run for `ms` milliseconds (typed keys, autocmds, LSP answers).
---@param ms integer
function H.sleep(ms)
  vim.defer_fn(resume, ms)
  coroutine.yield()
end

--- Poll `condition` every 5 ms; true once it holds, false after `timeout_ms`.
---@param condition fun(): boolean
---@param timeout_ms integer
---@return boolean
function H.wait_for(condition, timeout_ms)
  local deadline = vim.uv.hrtime() + timeout_ms * 1e6
  while not condition() do
    if vim.uv.hrtime() > deadline then
      return false
    end
    H.sleep(5)
  end
  return true
end

---@return number
function H.now_ms() return vim.uv.hrtime() / 1e6 end

--- The buffer's text, with its final newline.
---@param bufnr integer
---@return string
function H.text(bufnr)
  local text = table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), "\n")
  return vim.bo[bufnr].eol and text .. "\n" or text
end

--- Type keys as a user would (processed by the main loop, mappings and autocmds included).
---@param keys string
function H.type(keys) vim.api.nvim_input(keys) end

--- Open `path` (filetype detection on) and wait until the ai-lsp client is attached.
---@param path string
---@return integer bufnr, vim.lsp.Client client
function H.open(path)
  vim.cmd.edit(path)
  local bufnr = vim.api.nvim_get_current_buf()
  local client ---@type vim.lsp.Client?
  assert(
    H.wait_for(function()
      client = vim.lsp.get_clients({ bufnr = bufnr, name = "ai_lsp" })[1]
      return client ~= nil and client.initialized == true
    end, 15000),
    "ai-lsp did not attach to " .. path
  )
  return bufnr, assert(client)
end

--- Set up the plugin with the test's server command and init options, then run `body` as
--- a coroutine once Neovim has started (filetype detection is on only after init.lua).
---@param setup table Extra `setup()` options.
---@param body fun()
function H.run(setup, body)
  local opts = vim.tbl_deep_extend("force", {
    cmd = vim.json.decode(os.getenv("AI_LSP_CMD")),
    root_markers = { ".git", "pyproject.toml" },
    init_options = vim.json.decode(os.getenv("AI_LSP_INIT")),
  }, setup)
  require("ai_lsp").setup(opts)
  vim.api.nvim_create_autocmd("VimEnter", {
    callback = function()
      scenario = coroutine.create(body)
      vim.schedule(resume)
    end,
  })
end

--- Stop the ai-lsp clients and wait for them to exit.
function H.stop_clients()
  local clients = vim.lsp.get_clients({ name = "ai_lsp" })
  for _, client in ipairs(clients) do
    client:stop()
  end
  H.results.stopped = H.wait_for(function()
    for _, client in ipairs(clients) do
      if not client:is_stopped() then
        return false
      end
    end
    return true
  end, 10000)
end

return H
