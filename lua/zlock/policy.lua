--- Bulk lock policies: a Lua file that says which records, which action, and why.
--
--     -- examples/lock_closed_lost.lua
--     return {
--       name   = "lock Closed Lost deals older than N days",
--       module = "Deals",
--       params = { days = 30 },                      -- defaults; ZLOCK_DAYS=60 or --param days=60
--       select = { criteria = "(Stage:equals:Closed Lost)" },   -- or { coql = "select ..." },
--                                                    -- { fields = {...} } (every record), { locks = true }
--       where  = function(rec, ctx) return ctx.days_since(rec.Closing_Date) > ctx.params.days end,
--       action = "lock",                             -- "lock" | "unlock" | "update" | "report"
--       reason = "closed lost on ${Closing_Date}",   -- template (${Field}, ${Owner.name}, ${params.days})
--                                                    -- or function(rec, ctx) return "..." end
--     }
--
-- Fields: `module` (required unless `select.locks` over every module), `select` (a table or a
-- `function(ctx)` returning one), `where` (optional `function(rec, ctx)` -> boolean [, why]),
-- `action`, `reason` (lock/update), `why` (optional template/function: the dry-run explanation,
-- defaults to `where`'s second value, then the reason), `label` (optional template/function
-- naming the record in the plan), `params` (defaults), `concurrency`, `name`, `description`;
-- for `action = "report"`: `header` (string) and `row` (`function(rec, ctx)` -> line), written to
-- `params.out` (a file) or stdout.
--
-- Fields that are JSON null in Zoho's reply (e.g. `Locked_Reason__s` of an automatic lock) are
-- nil in the records a policy sees, so `rec.Field or default` works.
--
-- With `select = { locks = true }` each `rec` is a lock (`rec.id` the lock id, `rec.module`,
-- `rec.record_id`, `Locked_Reason__s`, `Lock_Source__s`, `Locked_Time__s`...): the selection an
-- unlock or update policy wants. `update` needs it (the lock id comes from the lock).
--
-- A policy file runs in a sandbox: the usual pure functions (`string`, `table`, `math`, `utf8`,
-- `pairs`, `tostring`...), `os.time/date/clock/getenv`, and nothing that touches files or loads
-- code. `ctx` gives `params`, `now` (Unix time), `today` ("YYYY-MM-DD", UTC),
-- `days_since(date_or_datetime)`, `parse_time(s)`, `field(rec, "Owner.name")`, `csv(...)`.
-- @module zlock.policy
local options = require "zlock.options"

local M = {}

M.ACTIONS = { lock = true, unlock = true, update = true, report = true }

-- ---------------------------------------------------------------- time helpers

-- Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm): no time zone involved.
local function days_from_civil(y, m, d)
  y = (m <= 2) and y - 1 or y
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

--- Parses `YYYY-MM-DD` or ISO 8601 `YYYY-MM-DDTHH:MM:SS[.fff](Z|+hh:mm|-hh:mm)` to Unix seconds.
-- @tparam string s
-- @treturn number|nil Unix time, or nil when `s` is not such a date
function M.parse_time(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, rest = s:match("^(%d%d%d%d)-(%d%d)-(%d%d)(.*)$")
  if not y then return nil end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  if mo < 1 or mo > 12 or d < 1 or d > 31 then return nil end
  local t = days_from_civil(y, mo, d) * 86400
  if rest == "" then return t end
  local h, mi, sec, tz = rest:match("^[T ](%d%d):(%d%d):(%d%d)%.?%d*(.*)$")
  if not h then return nil end
  t = t + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
  if tz == "" or tz == "Z" then return t end
  local sign, oh, om = tz:match("^([+-])(%d%d):?(%d%d)$")
  if not sign then return nil end
  local off = tonumber(oh) * 3600 + tonumber(om) * 60
  return sign == "+" and t - off or t + off
end

--- A policy context: `params`, `now`, `today`, `days_since`, `parse_time`, `field`, `csv`.
-- @tparam[opt] table params
-- @tparam[opt] number now Unix time (default `os.time()`)
-- @treturn table
function M.context(params, now)
  now = now or os.time()
  local ctx = { params = params or {}, now = now, today = os.date("!%Y-%m-%d", now) }
  ctx.parse_time = M.parse_time
  --- Whole days elapsed since a date or date-time (raises on anything else).
  function ctx.days_since(s)
    local t = M.parse_time(s)
    if not t then error("days_since: not a date: " .. tostring(s), 2) end
    return math.floor((now - t) / 86400)
  end
  ctx.field = M.field
  ctx.csv = M.csv
  return ctx
end

-- ---------------------------------------------------------------- templates

--- True for nil and JSON null (`cjson.null`, a lightuserdata).
-- @param v any value
-- @treturn boolean
function M.is_null(v)
  return v == nil or (type(v) == "userdata")
end
local is_null = M.is_null

--- A value by dotted path (`"Owner.name"`), nil when absent or JSON null.
-- @tparam table rec
-- @tparam string path
-- @return the value or nil
function M.field(rec, path)
  local v = rec
  for part in path:gmatch("[^%.]+") do
    if type(v) ~= "table" then return nil end
    v = v[part]
  end
  if is_null(v) then return nil end
  return v
end

--- One CSV line (RFC 4180 quoting) from the given values.
-- @treturn string
function M.csv(...)
  local out = {}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    v = is_null(v) and "" or tostring(v)
    if v:find('[,"\r\n]') then v = '"' .. v:gsub('"', '""') .. '"' end
    out[#out + 1] = v
  end
  return table.concat(out, ",")
end

--- Expands `${Field}` / `${Owner.name}` / `${params.days}` in a template. Raises when a
-- field is missing (a lock reason must never say "closed lost on nil").
-- @tparam string tpl
-- @tparam table rec
-- @tparam table ctx
-- @treturn string
function M.expand(tpl, rec, ctx)
  return (tpl:gsub("%${([%w_%.]+)}", function(path)
    local v = M.field(rec, path)
    if v == nil and path:match("^params%.") then v = M.field(ctx, path) end
    if v == nil then error("template ${" .. path .. "}: the record has no value for " .. path, 0) end
    if type(v) == "table" then v = v.name or v.id or "?" end
    return tostring(v)
  end))
end

--- A template string (`M.expand`) or a `function(rec, ctx)`, applied to a record.
-- @param spec template, function or nil
-- @tparam table rec
-- @tparam table ctx
-- @treturn string|nil
function M.render(spec, rec, ctx)
  if spec == nil then return nil end
  if type(spec) == "function" then
    local v = spec(rec, ctx)
    if v ~= nil then v = tostring(v) end
    return v
  end
  return M.expand(spec, rec, ctx)
end

-- ---------------------------------------------------------------- loading

local SAFE = { "assert", "error", "ipairs", "next", "pairs", "pcall", "select", "tonumber", "tostring",
               "type", "unpack", "xpcall", "rawequal", "rawget", "rawlen", "setmetatable" }

local function sandbox()
  local env = {}
  for _, k in ipairs(SAFE) do env[k] = _G[k] end
  for _, lib in ipairs{ "string", "table", "math", "utf8" } do
    if _G[lib] then
      local t = {}
      for k, v in pairs(_G[lib]) do t[k] = v end
      env[lib] = t
    end
  end
  env.os = { time = os.time, date = os.date, clock = os.clock, getenv = os.getenv, difftime = os.difftime }
  env._G = env
  return env
end

local function perr(path, msg)
  return nil, ("policy %s: %s"):format(path, msg)
end

local KNOWN = { module = 1, select = 1, where = 1, action = 1, reason = 1, why = 1, label = 1, params = 1,
                concurrency = 1, name = 1, description = 1, header = 1, row = 1 }

-- Each check_* returns nil when that part of the policy is right, else a message.
local function check_fields(p)
  for k in pairs(p) do
    if not KNOWN[k] then return ("unknown field %q (known: action, concurrency, description, "
      .. "header, label, module, name, params, reason, row, select, where, why)"):format(tostring(k)) end
  end
  if not M.ACTIONS[p.action] then
    return ("action must be \"lock\", \"unlock\", \"update\" or \"report\", got %s")
      :format(p.action == nil and "nothing" or ("%q"):format(tostring(p.action)))
  end
end

local function check_select_table(p, sel)
  local n = (sel.criteria and 1 or 0) + (sel.coql and 1 or 0) + (sel.locks and 1 or 0)
  if n > 1 then return "select takes one of criteria, coql, locks" end
  if n == 0 and not sel.fields then
    return "select needs criteria, coql, locks = true, or fields (every record)"
  end
  if sel.criteria ~= nil and type(sel.criteria) ~= "string" then return "select.criteria must be a string" end
  if sel.coql ~= nil and type(sel.coql) ~= "string" then return "select.coql must be a string" end
  if p.action == "update" and not sel.locks then
    return "action \"update\" needs select = { locks = true } (the lock id comes from the lock)"
  end
end

local function check_select(p)
  local sel = p.select
  if type(sel) ~= "table" and type(sel) ~= "function" then
    return "select must be a table ({criteria=}, {coql=}, {fields=} or {locks=true}) or a function"
  end
  if type(sel) == "table" then
    local why = check_select_table(p, sel)
    if why then return why end
  end
  local locks_all = type(sel) == "table" and sel.locks and p.module == nil
  if not locks_all and (type(p.module) ~= "string" or not p.module:match("^[A-Za-z][A-Za-z0-9_]*$")) then
    return "module must be a module API name such as \"Deals\""
  end
end

local function check_callbacks(p)
  if p.where ~= nil and type(p.where) ~= "function" then return "where must be a function(rec, ctx)" end
  if (p.action == "lock" or p.action == "update") and type(p.reason) ~= "string" and type(p.reason) ~= "function" then
    return "action \"" .. p.action .. "\" needs a reason (a template string or a function(rec, ctx))"
  end
  if p.action == "report" and type(p.row) ~= "function" then
    return "action \"report\" needs row = function(rec, ctx) returning a line"
  end
  for _, k in ipairs{ "why", "label" } do
    if p[k] ~= nil and type(p[k]) ~= "string" and type(p[k]) ~= "function" then
      return k .. " must be a template string or a function(rec, ctx)"
    end
  end
end

--- Checks a policy table; returns it, or nil and a message naming the problem.
-- @tparam table p
-- @tparam[opt="policy"] string name for messages
-- @treturn table|nil
-- @treturn string|nil
function M.validate(p, name)
  name = name or "policy"
  if type(p) ~= "table" then return perr(name, "must return a table, got " .. type(p)) end
  local why = check_fields(p) or check_select(p) or check_callbacks(p)
  if why then return perr(name, why) end
  if p.params ~= nil and type(p.params) ~= "table" then return perr(name, "params must be a table") end
  local cwhy = options.why("bulk", "concurrency", p.concurrency)
  if cwhy then return perr(name, cwhy) end
  return p
end

--- Loads a policy file in a sandbox and validates it.
-- @tparam string path
-- @treturn table|nil the policy
-- @treturn string|nil the error message
function M.load(path)
  local f, msg = io.open(path, "rb")
  if not f then return nil, "cannot read policy: " .. tostring(msg) end
  local src = f:read("*a")
  f:close()
  local env = sandbox()
  local chunk, cerr
  if setfenv then  -- luacheck: ignore 113 (Lua 5.1 / LuaJIT)
    chunk, cerr = loadstring(src, "@" .. path)  -- luacheck: ignore 113
    if chunk then setfenv(chunk, env) end  -- luacheck: ignore 113
  else
    chunk, cerr = load(src, "@" .. path, "t", env)
  end
  if not chunk then return nil, "policy " .. path .. " does not compile: " .. tostring(cerr) end
  local ok, p = pcall(chunk)
  if not ok then return nil, "policy " .. path .. " failed to load: " .. tostring(p) end
  return M.validate(p, path)
end

--- Policy parameters: `policy.params` defaults, overridden by the environment (`ZLOCK_<NAME>`)
-- and then by `overrides` (`--param name=value`); a misspelt name is refused. See
-- `zlock.params.resolve` (this is it).
-- @function params
M.params = require("zlock.params").resolve

-- ---------------------------------------------------------------- running

local NAME_FIELDS = { "Deal_Name", "Full_Name", "Account_Name", "Last_Name", "Subject", "Product_Name",
                      "Name", "Vendor_Name", "Solution_Title", "Case_Number" }

--- A short name for a record (or lock) in plans and reports.
-- @tparam table rec
-- @treturn string
function M.record_name(rec)
  for _, f in ipairs(NAME_FIELDS) do
    local v = M.field(rec, f)
    if v then return tostring(v) end
  end
  return M.field(rec, "Locked_For__s.name") or ""
end

--- Runs a policy: selects, filters with `where`, and feeds the bulk runner (or, for `report`,
-- writes rows). Nothing is changed with `dry_run`: every item ends as `planned`.
-- @param c client (with `zlock.select` and `zlock.bulk` installed)
-- @tparam table p validated policy
-- @tparam[opt] table opts `params` (resolved), `dry_run`, `concurrency`, `journal`, `progress`,
--  `on_result` (function(item, result, err): item has `why`, `name`, `outcome`), `out` (stream
--  for report rows, default io.stdout), `now`, `engine`, `sequential`, `prefetch` (records
--  read ahead before submitting, default 2000)
-- @treturn table the bulk summary (plus `selected`, `matched`, `selection_error`, `interrupted`:
--  SIGINT stopped the feeding, the items in flight were finished; `write_error`: a report row
--  could not be written), or nil, err
function M.run(c, p, opts)
  return require("zlock.policy_run").run(c, p, opts)
end

return M
