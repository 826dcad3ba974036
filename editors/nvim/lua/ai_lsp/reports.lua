--- The answers of `ai-lsp.usage`, `ai-lsp.index.status` and `ai-lsp.context.explain` as
--- readable lines, shown in a floating window.
local M = {}

---@param value number
---@return string
local function usd(value)
  if value == 0 or math.abs(value) >= 0.01 then
    return ("$%.2f"):format(value)
  end
  return ("$%.4f"):format(value)
end

---@param totals table
---@return string
local function totals_line(totals)
  return ("%d requests, %d tokens, %s"):format(
    totals.requests or 0,
    totals.tokens or 0,
    usd(totals.usd or 0)
  )
end

--- `ai-lsp.usage`: today, this month, the budget caps, then per day and model.
---@param usage table
---@return string[]
function M.usage(usage)
  local lines = {
    "today:      " .. totals_line(usage.today or {}),
    "this month: " .. totals_line(usage.month or {}),
    "",
    "budget:",
  }
  for _, cap in ipairs(usage.caps or {}) do
    local limit = cap.limit == vim.NIL and "no cap" or tostring(cap.limit)
    local remaining = cap.remaining == vim.NIL and "-" or tostring(cap.remaining)
    table.insert(
      lines,
      ("  %s = %s (spent %s, left %s)"):format(cap.setting, limit, cap.spent, remaining)
    )
  end
  if #(usage.rows or {}) > 0 then
    table.insert(lines, "")
    for _, row in ipairs(usage.rows) do
      table.insert(
        lines,
        ("%s  %s/%s  %d requests  %d+%d tokens  %s"):format(
          row.day,
          row.provider,
          row.model,
          row.requests,
          row.prompt_tokens,
          row.completion_tokens,
          usd(row.usd)
        )
      )
    end
  end
  return lines
end

--- Any flat answer (`ai-lsp.index.status`) as `key: value` lines, sorted by key.
---@param answer table
---@return string[]
function M.fields(answer)
  local keys = vim.tbl_keys(answer)
  table.sort(keys)
  local lines = {}
  for _, key in ipairs(keys) do
    local value = answer[key]
    local shown = type(value) == "table" and vim.json.encode(value) or tostring(value)
    table.insert(lines, ("%s: %s"):format(key, shown))
  end
  return lines
end

--- `ai-lsp.context.explain`: its `explanation` text.
---@param answer table
---@return string[]
function M.explain(answer)
  return vim.split(
    answer.explanation or answer.error or vim.inspect(answer),
    "\n",
    { plain = true }
  )
end

--- Show `lines` in a floating window titled `title` (closed when the cursor moves).
---@param title string
---@param lines string[]
function M.show(title, lines)
  vim.lsp.util.open_floating_preview(lines, "text", {
    border = "rounded",
    title = " " .. title .. " ",
    focus_id = "ai_lsp.report",
  })
end

return M
