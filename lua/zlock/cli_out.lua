--- Output of the `zlock` command: text tables cut to the terminal, JSON, and the error object
-- every `--json` failure prints (docs/json.md).
-- @module zlock.cli_out
local cjson = require "cjson.safe"
local json = require "zlock.cli_json"

local M = {}

--- Writes to stdout.
function M.out(...) io.stdout:write(...) end

--- Writes to stderr.
function M.err(...) io.stderr:write(...) end

--- Width tables are cut to: `COLUMNS` when set, else the terminal's columns when stdout is a
-- terminal, else no limit.
-- @treturn number
function M.width()
  if M._width then return M._width end
  local progress = require "zlock.progress"
  M._width = math.huge
  local n = tonumber(os.getenv("COLUMNS") or "")
  if n and n >= 40 then M._width = n; return n end
  if progress.isatty(1) then
    if not n then
      local p = io.popen("stty size </dev/tty 2>/dev/null")
      if p then n = tonumber((p:read("*a") or ""):match("%d+%s+(%d+)")); p:close() end
    end
    M._width = (n and n >= 40) and n or 100
  end
  return M._width
end

local function len(s) return (utf8 and utf8.len(s)) or #s end

local function cut(s, room)
  if len(s) <= room then return s end
  if utf8 and utf8.offset then return s:sub(1, (utf8.offset(s, room) or room + 1) - 1) .. "…" end
  return s:sub(1, room - 1) .. "…"
end

local function widths(cols, rows)
  local w = {}
  for i, c in ipairs(cols) do
    w[i] = #c[1]
    for _, r in ipairs(rows) do w[i] = math.max(w[i], len(tostring(r[c[2]] or ""))) end
  end
  return w
end

--- Formats rows as an aligned table (`cols` = list of `{title, key[, align = "right"]}`); the
-- last column is cut to `width` columns.
-- @tparam table cols
-- @tparam table rows
-- @tparam[opt] integer width default `M.width()`
-- @treturn string
function M.table(cols, rows, width)
  width = width or M.width()
  local w = widths(cols, rows)
  local function line(vals)
    local parts, used = {}, 0
    for i, v in ipairs(vals) do
      local s = tostring(v or "")
      if i < #vals then
        local pad = (" "):rep(w[i] - len(s))
        parts[i] = cols[i].align == "right" and (pad .. s) or (s .. pad)
        used = used + w[i] + 2
      else
        parts[i] = cut(s, math.max(width - used, 10))
      end
    end
    return (table.concat(parts, "  "):gsub("%s+$", ""))
  end
  local head = {}
  for i, c in ipairs(cols) do head[i] = c[1] end
  local lines = { line(head) }
  for _, r in ipairs(rows) do
    local vals = {}
    for i, c in ipairs(cols) do vals[i] = r[c[2]] end
    lines[#lines + 1] = line(vals)
  end
  return table.concat(lines, "\n") .. "\n"
end

--- Prints `v` as one line of JSON on `to` (default stdout).
-- @param v
-- @tparam[opt] file to
function M.json(v, to)
  (to or io.stdout):write(json.encode(v), "\n")
end

local function or_null(v) if v == nil then return cjson.null end return v end

--- The JSON error object: always the five keys `code`, `message`, `http_status` (null without a
-- reply), `retryable`, `details` (Zoho's, or null).
-- @tparam table|string err a zlock error (or any error value)
-- @treturn table
function M.error_object(err)
  if type(err) ~= "table" then
    return { code = "ERROR", message = tostring(err), http_status = cjson.null, retryable = false,
             details = cjson.null }
  end
  return { code = tostring(err.code or "ERROR"), message = tostring(err.message or ""),
           http_status = or_null(err.http_status), retryable = err.retryable and true or false,
           details = or_null(err.details) }
end

return M
