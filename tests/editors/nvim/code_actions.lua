-- Headless Neovim 0.11: ai-lsp's AI code actions as a user reaches them.
--   1. A linter (not an LSP client of this buffer) reports an undefined name with vim.diagnostic.
--   2. The default `vim.lsp.buf.code_action()` (the `gra` keymap) sends ai-lsp only ai-lsp's own
--      diagnostics: recorded to show whether an `AI: Fix` is offered that way.
--   3. A keymap-style call passes the line's diagnostics explicitly (`context.diagnostics`, made
--      with `vim.lsp.diagnostic.from`), filters the `AI: Fix` action and applies it: Neovim sends
--      `codeAction/resolve` and applies the returned WorkspaceEdit itself. The file is written.
--   4. The titles listed at a `# ai:` comment and on an undocumented function header.
--   5. The client is stopped.
-- Environment: AI_LSP_CMD (JSON list), AI_LSP_INIT (JSON init options), AI_LSP_FILE (file to
-- open), AI_LSP_OUT (result file), AI_LSP_FIX_LINE, AI_LSP_COMMENT_LINE, AI_LSP_HEADER_LINE
-- (0-based rows), AI_LSP_COMMENT_COL (0-based byte column of the cursor on the comment line).
local out_path = os.getenv("AI_LSP_OUT")
local fix_line = tonumber(os.getenv("AI_LSP_FIX_LINE"))
local comment_line = tonumber(os.getenv("AI_LSP_COMMENT_LINE"))
local comment_col = tonumber(os.getenv("AI_LSP_COMMENT_COL"))
local header_line = tonumber(os.getenv("AI_LSP_HEADER_LINE"))
local results = { requests = {}, responses = {}, notifications = {} }
local finished = false

local function finish(status)
  if finished then
    return
  end
  finished = true
  results.status = status
  local f = assert(io.open(out_path, "w"))
  f:write(vim.json.encode(results))
  f:close()
  vim.cmd("qall!")
end

local timer = vim.uv.new_timer()
timer:start(45000, 0, vim.schedule_wrap(function() finish("timeout") end))

-- What the user would see in the message area (errors from resolve, "No code actions", ...).
local notify = vim.notify
vim.notify = function(msg, level, opts)
  table.insert(results.notifications, { message = tostring(msg), level = level })
  return notify(msg, level, opts)
end

vim.lsp.config("ai_lsp", {
  cmd = vim.json.decode(os.getenv("AI_LSP_CMD")),
  filetypes = { "python" },
  root_markers = { ".git", "pyproject.toml" },
  init_options = vim.json.decode(os.getenv("AI_LSP_INIT")),
})
vim.lsp.enable("ai_lsp")

--- Record every request this client sends and what came back (method, error, result).
local function record_requests(client)
  local request = client.request
  client.request = function(self, method, params, handler, bufnr)
    table.insert(results.requests, method)
    local function recorded(err, result, ctx, config)
      table.insert(results.responses, {
        method = method,
        error = err and { code = err.code, message = err.message } or vim.NIL,
        result = result == nil and vim.NIL or result,
      })
      if handler then
        return handler(err, result, ctx, config)
      end
    end
    return request(self, method, params, recorded, bufnr)
  end
end

local function responses_to(method)
  local n = 0
  for _, r in ipairs(results.responses) do
    if r.method == method then
      n = n + 1
    end
  end
  return n
end

local function buffer_text(buf)
  local text = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
  if vim.bo[buf].eol then
    text = text .. "\n"
  end
  return text
end

--- Titles of the code actions listed at (row, col) with no diagnostics in the context.
local function titles_at(client, buf, row, col)
  vim.api.nvim_win_set_cursor(0, { row + 1, col })
  local params = vim.lsp.util.make_range_params(0, client.offset_encoding)
  params.context = { diagnostics = {}, triggerKind = 1 }
  local answers = vim.lsp.buf_request_sync(buf, "textDocument/codeAction", params, 10000)
  local answer = answers and answers[client.id]
  if answer == nil or answer.err then
    return { error = answer and answer.err and answer.err.message or "no answer" }
  end
  local titles = {}
  for _, action in ipairs(answer.result or {}) do
    table.insert(titles, action.title)
  end
  return { titles = titles, range = params.range }
end

local function scenario(client, buf)
  record_requests(client)
  results.server_name = client.server_info and client.server_info.name
  results.position_encoding = client.offset_encoding
  results.resolve_provider = vim.tbl_get(client.server_capabilities, "codeActionProvider", "resolveProvider")
  results.text_before = buffer_text(buf)

  -- 1. A linter's diagnostic, as nvim-lint or a vim.diagnostic producer would publish it.
  local linter = vim.api.nvim_create_namespace("test-linter")
  local lines = vim.api.nvim_buf_get_lines(buf, fix_line, fix_line + 1, false)
  local col = assert(lines[1]:find("reslt", 1, true)) - 1
  vim.diagnostic.set(linter, buf, {
    {
      lnum = fix_line,
      col = col,
      end_lnum = fix_line,
      end_col = col + #"reslt",
      severity = vim.diagnostic.severity.ERROR,
      message = '"reslt" is not defined',
      source = "pyright",
    },
  })
  vim.api.nvim_win_set_cursor(0, { fix_line + 1, col })

  -- 2. The default code action request: which titles does ai-lsp offer on that line?
  results.default_titles = {}
  local before = responses_to("textDocument/codeAction")
  vim.lsp.buf.code_action({
    filter = function(action)
      table.insert(results.default_titles, action.title)
      return false -- list only: apply nothing
    end,
  })
  vim.wait(10000, function() return responses_to("textDocument/codeAction") > before end, 20)

  -- 3. The keymap way: the diagnostics under the cursor passed explicitly, `AI: Fix` applied.
  local diagnostics = vim.lsp.diagnostic.from(vim.diagnostic.get(buf, { lnum = fix_line }))
  results.context_diagnostics = diagnostics
  local tick = vim.api.nvim_buf_get_changedtick(buf)
  results.fix_titles = {}
  vim.lsp.buf.code_action({
    context = { diagnostics = diagnostics },
    filter = function(action)
      table.insert(results.fix_titles, action.title)
      return vim.startswith(action.title, "AI: Fix")
    end,
    apply = true,
  })
  results.buffer_changed = vim.wait(
    20000,
    function() return vim.api.nvim_buf_get_changedtick(buf) ~= tick end,
    20
  )
  -- Let a second edit (there must be none) arrive before reading the buffer.
  vim.wait(300, function() return false end, 20)
  results.text_after = buffer_text(buf)
  results.used_resolve = vim.tbl_contains(results.requests, "codeAction/resolve")
  for _, r in ipairs(results.responses) do
    if r.method == "codeAction/resolve" then
      results.resolved = r
    end
  end
  vim.api.nvim_buf_call(buf, function() vim.cmd("silent write") end)

  -- 4. Titles at the `# ai:` comment (cursor after non-ASCII text) and on a function header.
  results.comment_actions = titles_at(client, buf, comment_line, comment_col)
  results.header_actions = titles_at(client, buf, header_line, 0)

  -- 5. Stop the server cleanly.
  client:stop()
  results.stopped = vim.wait(10000, function() return client:is_stopped() end, 50)
  finish("done")
end

vim.api.nvim_create_autocmd("LspAttach", {
  once = true,
  callback = function(args)
    local client = assert(vim.lsp.get_client_by_id(args.data.client_id))
    local buf = args.buf
    -- Outside the autocmd, so that vim.wait can process the server's answers.
    vim.schedule(function()
      local ok, err = xpcall(scenario, debug.traceback, client, buf)
      if not ok then
        results.lua_error = err
        finish("error")
      end
    end)
  end,
})

-- Filetype detection is switched on only after init.lua has run: open the file afterwards.
vim.api.nvim_create_autocmd("VimEnter", {
  nested = true, -- so that :edit fires FileType, which starts the server
  callback = function() vim.cmd.edit(os.getenv("AI_LSP_FILE")) end,
})
