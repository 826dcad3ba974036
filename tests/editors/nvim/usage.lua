-- Headless Neovim 0.11: start ai-lsp for a buffer, run ai-lsp.usage, stop the server cleanly.
-- Environment: AI_LSP_CMD (JSON list), AI_LSP_FILE (file to open), AI_LSP_OUT (result file).
local out_path = os.getenv("AI_LSP_OUT")
local results = {}

local function finish(status)
  results.status = status
  local f = assert(io.open(out_path, "w"))
  f:write(vim.json.encode(results))
  f:close()
  vim.cmd("qall!")
end

local timer = vim.uv.new_timer()
timer:start(30000, 0, vim.schedule_wrap(function() finish("timeout") end))

vim.lsp.config("ai_lsp", {
  cmd = vim.json.decode(os.getenv("AI_LSP_CMD")),
  filetypes = { "python" },
  root_markers = { ".git", "pyproject.toml" },
  init_options = { completion = { debounceMs = 0 } },
})
vim.lsp.enable("ai_lsp")

vim.api.nvim_create_autocmd("LspAttach", {
  callback = function(args)
    local client = vim.lsp.get_client_by_id(args.data.client_id)
    results.server_name = client.server_info and client.server_info.name
    results.position_encoding = client.offset_encoding
    results.commands = client.server_capabilities.executeCommandProvider
      and client.server_capabilities.executeCommandProvider.commands
    client:request("workspace/executeCommand", { command = "ai-lsp.usage", arguments = {} },
      function(err, result)
        results.error = err and err.message
        results.usage = result
        client:stop()
        local waited = vim.wait(10000, function() return client:is_stopped() end, 50)
        results.stopped = waited
        finish("done")
      end, args.buf)
  end,
})

-- Filetype detection is switched on only after init.lua has run: open the file afterwards.
vim.api.nvim_create_autocmd("VimEnter", {
  nested = true, -- so that :edit fires FileType, which starts the server
  callback = function() vim.cmd.edit(os.getenv("AI_LSP_FILE")) end,
})
