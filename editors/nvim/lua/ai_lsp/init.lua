--- ai-lsp for Neovim 0.11+: registers the server with `vim.lsp.config`/`vim.lsp.enable`, and
--- adds ghost text, `AI:` code actions, AI edits and the `:AiLsp*` commands.
local actions = require("ai_lsp.actions")
local config = require("ai_lsp.config")
local ghost = require("ai_lsp.ghost")
local keymap = require("ai_lsp.keymap")
local lsp = require("ai_lsp.lsp")
local reports = require("ai_lsp.reports")

local api = vim.api
local M = {}

M.code_action = actions.code_action
M.edit = actions.edit
M.ghost = ghost

---@param title string
---@param format fun(result: table): string[]
---@return fun(err: lsp.ResponseError?, result: any)
local function shower(title, format)
  return function(err, result)
    if err then
      vim.notify(("%s failed: %s"):format(title, err.message), vim.log.levels.ERROR)
    elseif type(result) == "table" then
      reports.show(title, format(result))
    end
  end
end

--- Run `ai-lsp.usage`; `on_result` defaults to showing the report.
---@param on_result fun(err: lsp.ResponseError?, result: table?)?
function M.usage(on_result)
  lsp.execute("ai-lsp.usage", {}, on_result or shower("ai-lsp usage", reports.usage))
end

--- Run `ai-lsp.index.status`; `on_result` defaults to showing it.
---@param on_result fun(err: lsp.ResponseError?, result: table?)?
function M.index_status(on_result)
  lsp.execute("ai-lsp.index.status", {}, on_result or shower("ai-lsp index", reports.fields))
end

--- Run `ai-lsp.context.explain` for the current buffer: the context the last completion used.
---@param on_result fun(err: lsp.ResponseError?, result: table?)?
function M.explain(on_result)
  local bufnr = api.nvim_get_current_buf()
  local client = lsp.client(bufnr)
  local argument = { uri = vim.uri_from_bufnr(bufnr) }
  if client then
    argument.position = vim.lsp.util.make_position_params(0, client.offset_encoding).position
  end
  lsp.execute(
    "ai-lsp.context.explain",
    argument,
    on_result or shower("ai-lsp context", reports.explain)
  )
end

--- Turn ghost text on or off (toggle when `on` is nil).
---@param on boolean?
function M.toggle_ghost_text(on)
  if on == nil then
    on = not ghost.is_enabled()
  end
  ghost.set_enabled(on)
  vim.notify("ai-lsp ghost text " .. (on and "on" or "off"), vim.log.levels.INFO)
end

local function create_commands()
  local command = api.nvim_create_user_command
  command("AiLspEdit", function(cmd)
    local lines = cmd.range > 0 and { line1 = cmd.line1, line2 = cmd.line2 } or {}
    actions.edit(cmd.args, lines)
  end, {
    nargs = "*",
    range = true,
    desc = "ai-lsp: rewrite the selection (or the function at the cursor)",
  })
  command("AiLspCodeAction", function(cmd)
    local range = cmd.range > 0 and { start = { cmd.line1, 0 }, ["end"] = { cmd.line2, 0 } } or nil
    actions.code_action({ range = range })
  end, { range = true, desc = "ai-lsp: AI code actions with the line's diagnostics" })
  command("AiLspUsage", function() M.usage() end, { desc = "ai-lsp: tokens, cost and budget" })
  command("AiLspIndexStatus", function() M.index_status() end, { desc = "ai-lsp: index state" })
  command(
    "AiLspExplain",
    function() M.explain() end,
    { desc = "ai-lsp: context of the last completion" }
  )
  command(
    "AiLspToggleGhostText",
    function() M.toggle_ghost_text() end,
    { desc = "ai-lsp: ghost text on/off" }
  )
end

---@param bufnr integer
---@param client vim.lsp.Client
---@param options ai_lsp.Options
local function on_attach(bufnr, client, options)
  ghost.attach(bufnr, client, options.ghost_text)
  local keys = options.code_actions.keymaps
  for _, mode in ipairs({ "n", "x" }) do
    if keys.code_action then
      vim.keymap.set(
        mode,
        keys.code_action,
        function() actions.code_action() end,
        { buffer = bufnr, desc = "ai-lsp: AI code actions" }
      )
    end
    if keys.edit then
      vim.keymap.set(
        mode,
        keys.edit,
        function() actions.edit() end,
        { buffer = bufnr, desc = "ai-lsp: AI edit" }
      )
    end
  end
  if options.completion.native and vim.lsp.completion then
    vim.lsp.completion.enable(
      true,
      client.id,
      bufnr,
      { autotrigger = options.completion.autotrigger }
    )
  end
end

---@param bufnr integer
---@param options ai_lsp.Options
local function on_detach(bufnr, options)
  ghost.detach(bufnr)
  for _, mode in ipairs({ "n", "x" }) do
    for _, lhs in pairs(options.code_actions.keymaps) do
      keymap.del(bufnr, mode, lhs)
    end
  end
end

--- Register and enable the ai-lsp server, and set up ghost text, keys and commands.
---@param opts table? See `ai_lsp.Options` (README.md lists every key and its default).
function M.setup(opts)
  local options = config.set(opts)
  vim.lsp.config(lsp.name, {
    cmd = options.cmd,
    filetypes = options.filetypes,
    root_markers = options.root_markers,
    init_options = options.init_options,
    settings = options.settings,
  })
  ghost.init(options.ghost_text.enabled)
  local group = api.nvim_create_augroup("ai_lsp", { clear = true })
  api.nvim_create_autocmd("LspAttach", {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == lsp.name then
        on_attach(args.buf, client, options)
      end
    end,
  })
  api.nvim_create_autocmd("LspDetach", {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == lsp.name then
        on_detach(args.buf, options)
      end
    end,
  })
  create_commands()
  vim.lsp.enable(lsp.name)
end

return M
