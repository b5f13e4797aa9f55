--- Every option of zlock in one table: name, type, unit, default, allowed values, and the layer
-- that reads it (`client`: the C core's client; `transport`: libcurl in C or nginx's;
-- `runner`: the bulk runner; `engine`: a bulk engine; `lua`: the Lua module itself).
--
-- The defaults and ranges of the settings the C core reads are the core's own
-- (`core.defaults()`, `core.limits()`): this table converts units and refers to them, so a
-- default or a limit has one home. Options a caller leaves out are passed to the core as nil.
--
--     options.list("new")                      -- the entries of zlock.new's options, in order
--     options.default("bulk", "concurrency")   --> 10
--     options.why("bulk", "concurrency", 1e12) --> "concurrency must be an integer from 1 to 1024, got 1e+12"
-- @module zlock.options
local core = require "zlock.core"

local M = {}

local D, L = core.defaults(), core.limits()

-- An entry: `name`, `type` ("string", "number", "integer", "boolean", "function", "table",
-- "enum", or several joined by "|"), `unit` ("s", "bytes", ...), `c` (the core's setting:
-- default and limits come from it, divided by `scale`), `default`, `min`/`max`, `values`
-- (enum), `layer`, `doc`.
local SECTIONS = {
  new = {
    { name = "dc", type = "enum", values = { "us", "eu", "in", "au", "jp", "cn", "ca", "sa" }, default = "us",
      layer = "client", doc = "data centre" },
    { name = "env", type = "enum", values = { "production", "sandbox", "developer" }, default = "production",
      layer = "client", doc = "environment: API host `www.`, `sandbox.` or `developer.zohoapis.*`" },
    { name = "api_domain", type = "string", layer = "client",
      doc = "overrides what `dc`/`env` pick; `https://` required except for 127.0.0.0/8, `::1`, `localhost`" },
    { name = "accounts_domain", type = "string", layer = "client", doc = "as `api_domain`, for the token endpoint" },
    { name = "api_version", type = "string", c = "api_version", layer = "client",
      doc = "the API version of the requests" },
    { name = "access_token", type = "string", layer = "client", doc = "a token you already have" },
    { name = "expires_at", type = "number", unit = "Unix s", min = 0, layer = "client",
      doc = "when `access_token` expires (unknown: used until a 401)" },
    { name = "client_id", type = "string", layer = "client", doc = "refresh flow (with the next two)" },
    { name = "client_secret", type = "string", layer = "client", doc = "refresh flow" },
    { name = "refresh_token", type = "string", layer = "client", doc = "refresh flow" },
    { name = "refresh_ahead", type = "number", unit = "s", c = "refresh_ahead_s", scale = 1, layer = "client",
      doc = "refresh this long before expiry (at most a tenth of the token's lifetime)" },
    { name = "token_store", type = "enum", values = { "file", "redis", "none" }, layer = "client",
      doc = "where the refresh flow's token is shared between processes (unset: `redis` with `redis_url`, "
        .. "else `file`; env `ZLOCK_TOKEN_STORE`)" },
    { name = "redis_url", type = "string", layer = "client",
      doc = "`redis[s]://[user:pass@]host[:port][/db]`: share the token across hosts (env `ZLOCK_REDIS_URL`; "
        .. "HAProxy: `redis://` to an IPv4 address)" },
    { name = "token_cache_dir", type = "string", layer = "client",
      doc = "the file store's directory (unset: `$XDG_CACHE_HOME/zlock`, else `~/.cache/zlock`)" },
    { name = "org_budget", type = "boolean", layer = "client",
      doc = "share the org's in-flight limit with every process and host through `redis_url` (unset: on "
        .. "with `redis_url`; env `ZLOCK_ORG_BUDGET`, `off` turns it off)" },
    { name = "org_limit", type = "integer", unit = "requests", c = "org_limit", layer = "client",
      doc = "the org's in-flight limit (0: learned by the fleet; env `ZLOCK_ORG_LIMIT`)" },
    { name = "org_reserve", type = "number", unit = "share", c = "org_reserve", layer = "client",
      doc = "share of the limit bulk work leaves to calls made one at a time while some were seen in the "
        .. "last 30 s (env `ZLOCK_ORG_RESERVE`)" },
    { name = "org_priority", type = "enum", values = { "interactive", "bulk" }, layer = "client",
      doc = "`interactive`: calls made one at a time go ahead of bulk runs (a webhook); `bulk`: they are "
        .. "part of bulk work (`zlock run` sets it: a policy's selection)" },
    { name = "org_id", type = "string", layer = "client",
      doc = "names the org's budget (unset: accounts domain and client id; env `ZLOCK_ORG_ID`)" },
    { name = "timeout", type = "number", unit = "s", c = "timeout_ms", scale = 1000, layer = "transport",
      doc = "whole request" },
    { name = "connect_timeout", type = "number", unit = "s", c = "connect_timeout_ms", scale = 1000,
      layer = "transport", doc = "connection set-up" },
    { name = "max_response_bytes", type = "integer", unit = "bytes", c = "max_response_bytes", scale = 1,
      layer = "transport", doc = "a larger reply is BAD_RESPONSE" },
    { name = "ca_file", type = "string", layer = "transport", doc = "CA bundle (verification is always on)" },
    { name = "user_agent", type = "string", c = "user_agent", layer = "transport", doc = "the User-Agent header" },
    { name = "proxy", type = "string", layer = "transport",
      doc = "proxy URL for every request (libcurl only; else its `https_proxy`/`all_proxy`; `no_proxy` applies)" },
    { name = "retries", type = "table", layer = "client", doc = "see the `retries` table" },
    { name = "on_retry", type = "function", layer = "lua",
      doc = "`function(info)` before each backoff; return `false` to stop" },
    { name = "on_request", type = "function", layer = "lua",
      doc = "`function(info)` before each HTTP request (`zlock.log`)" },
    { name = "on_response", type = "function", layer = "lua", doc = "`function(info)` after each reply (`zlock.log`)" },
    { name = "log", type = "string|function", layer = "lua",
      doc = "`debug`: a line per request and reply on stderr; or `function(line)`" },
    { name = "seed", type = "integer", min = 0, max = 2 ^ 53, layer = "client",
      doc = "seed of the backoff jitter (unset: from time and address)" },
    { name = "transport", type = "string|table", default = "auto", layer = "lua",
      doc = "`auto` (the host's own I/O inside nginx, HAProxy or a cqueues controller, else libcurl), `curl`, "
        .. "`ngx`, `haproxy`, `cqueues`, or a table (names and contract: `zlock.transport`)" },
    { name = "shared_dict", type = "string", layer = "transport",
      doc = "ngx: a `lua_shared_dict` holding the token for every worker" },
    { name = "keepalive", type = "number", unit = "s", default = 30, min = 0, max = 86400, layer = "transport",
      doc = "ngx: how long a connection idles in the pool" },
    { name = "pool_size", type = "integer", min = 1, max = 65536, layer = "transport",
      doc = "ngx: connections kept per host (unset: `lua_socket_pool_size`)" },
    { name = "http", type = "enum", values = { "resty", "cosocket" }, layer = "transport",
      doc = "ngx: force one HTTP client (unset: lua-resty-http when installed)" },
    { name = "refresh_lock_ttl", type = "number", unit = "s", min = 1, max = 86400, layer = "transport",
      doc = "ngx, haproxy, cqueues: the shared refresh lock's lifetime (unset: `timeout` + 5)" },
  },
  retries = {
    { name = "max_attempts", type = "integer", c = "max_attempts", scale = 1, layer = "client",
      doc = "requests per call, the first included (1: no retry)" },
    { name = "max_time", type = "number", unit = "s", c = "max_time_ms", scale = 1000, layer = "client",
      doc = "no new attempt after this long (0: no limit)" },
    { name = "base_delay", type = "number", unit = "s", c = "base_delay_ms", scale = 1000, layer = "client",
      doc = "first backoff (full jitter, doubling)" },
    { name = "max_delay", type = "number", unit = "s", c = "max_delay_ms", scale = 1000, layer = "client",
      doc = "longest backoff" },
  },
  bulk = {
    { name = "concurrency", type = "integer", c = "concurrency", scale = 1, layer = "runner, engine",
      doc = "calls in flight at most (the C engine adapts below it on 429)" },
    { name = "threads", type = "integer", c = "threads", scale = 1, layer = "engine",
      doc = "deprecated, ignored: the C engine runs on the caller's thread" },
    { name = "journal", type = "string", layer = "runner", doc = "journal file: resume support" },
    { name = "journal_identity", type = "table", layer = "runner",
      doc = "the policy the journal belongs to (`zlock.journal.identity`): another is refused" },
    { name = "dry_run", type = "boolean", layer = "runner", doc = "no call is made; items end as `planned`" },
    { name = "on_result", type = "function", layer = "runner", doc = "`function(item, result, err)`" },
    { name = "progress", type = "boolean|function", layer = "runner",
      doc = "`true`: a bar on a terminal; a function receives the counts" },
    { name = "total", type = "integer", min = 0, layer = "runner", doc = "expected item count (for the bar)" },
    { name = "label", type = "string", layer = "runner", doc = "bar label" },
    { name = "engine", type = "table", layer = "runner", doc = "an engine object (overrides the choice)" },
    { name = "sequential", type = "boolean", layer = "runner", doc = "never the C engine" },
  },
}

-- Resolves core-backed defaults and limits into each entry, and indexes entries by name.
local BY = {}
for section, list in pairs(SECTIONS) do
  BY[section] = {}
  for _, e in ipairs(list) do
    if e.c then
      local s = e.scale or 1
      if e.default == nil and D[e.c] ~= nil then
        e.default = type(D[e.c]) == "number" and D[e.c] / s or D[e.c]
      end
      local lim = L[e.c]
      if lim and e.c ~= "api_version" then e.min, e.max = lim[1] / s, lim[2] / s end
    end
    BY[section][e.name] = e
  end
end
do   -- api_version: "v<min>" to "v<max>" (the core's ZL_API_VERSION_MIN/MAX)
  local e, lim = BY.new.api_version, L.api_version
  e.values = {}
  for v = lim[1], lim[2] do e.values[#e.values + 1] = "v" .. math.floor(v) end
end

--- The entries of a section (`"new"`, `"retries"`, `"bulk"`), in order.
-- @tparam string section
-- @treturn table array of entries (`name`, `type`, `unit`, `default`, `min`, `max`, `values`, `layer`, `doc`)
function M.list(section)
  return assert(SECTIONS[section], "no such options section")
end

--- One entry, or nil when the option does not exist.
-- @tparam string section
-- @tparam string name
-- @treturn table|nil
function M.get(section, name)
  return BY[section] and BY[section][name]
end

--- An option's default (in the option's own unit), nil when it has none.
-- @tparam string section
-- @tparam string name
function M.default(section, name)
  return assert(M.get(section, name), "unknown option " .. tostring(name)).default
end

local function num(v)
  if v == math.floor(v) and math.abs(v) <= 2 ^ 53 then return ("%.0f"):format(v) end
  return ("%.15g"):format(v)
end

local function describe(e)
  local unit = e.unit == "s" and " of seconds" or e.unit == "bytes" and " of bytes" or ""
  local what = (e.type:find("integer", 1, true) and (unit ~= "" and "an integer number" or "an integer")
    or "a number") .. unit
  if e.min and e.max then return ("%s from %s to %s"):format(what, num(e.min), num(e.max)) end
  if e.min then return ("%s of at least %s"):format(what, num(e.min)) end
  return what
end

local function show(v)
  if type(v) == "number" then return num(v) end
  if type(v) == "string" then return ("%q"):format(v) end
  return type(v)
end

local function values_text(vals)
  local q = {}
  for i, v in ipairs(vals) do q[i] = ("%q"):format(v) end
  return table.concat(q, ", ")
end

-- Whether value v fits one type name of an entry.
local function fits(t, v, e)
  if t == "integer" then return type(v) == "number" and v == math.floor(v) end
  if t == "enum" then
    for _, x in ipairs(e.values) do if v == x then return true end end
    return false
  end
  return type(v) == t
end

-- Whether a value of the right type is allowed: an integer, one of the values, in range.
local function in_range(e, v)
  if e.type == "integer" and not fits("integer", v, e) then return false end
  if e.values and type(v) == "string" and not fits("enum", v, e) then return false end
  return type(v) ~= "number" or (v >= (e.min or -math.huge) and v <= (e.max or math.huge))
end

-- The message saying what an option may be.
local function complaint(e, name, v)
  if e.values then return ("%s must be one of %s, got %s"):format(name, values_text(e.values), show(v)) end
  if e.type == "number" or e.type == "integer" then
    return ("%s must be %s, got %s"):format(name, describe(e), show(v))
  end
  return ("%s must be a %s, got %s"):format(name, (e.type:gsub("|", " or ")), show(v))
end

--- Why `v` is not a valid value of option `name` (nil when it is, or when `v` is nil).
-- @tparam string section
-- @tparam string name
-- @param v the value
-- @treturn string|nil e.g. `timeout must be a number of seconds from 0.001 to 86400, got 0`
-- @treturn string|nil what is wrong: `"unknown"` (no such option), `"type"` (wrong Lua type or a
--  number out of range: the program's mistake), `"value"` (a string outside the allowed values:
--  configuration, which may come from the environment)
function M.why(section, name, v)
  local e = M.get(section, name)
  if not e then return ("unknown option '%s'"):format(tostring(name)), "unknown" end
  if v == nil then return nil end
  local typed = false
  for t in e.type:gmatch("[^|]+") do
    typed = typed or (t == "enum" and type(v) == "string") or fits(t == "integer" and "number" or t, v, e)
  end
  if typed and in_range(e, v) then return nil end
  return complaint(e, name, v), (typed and type(v) == "string") and "value" or "type"
end

--- Checks every option of `opts`: raises `bad argument #1 to 'fname' (...)` for an unknown one,
-- one of the wrong type or a number out of range (the program's mistakes); returns the message
-- of the first string outside its allowed values (configuration, e.g. `ZOHO_DC`), or nil.
-- @tparam string section
-- @tparam table opts
-- @tparam string fname the function named in the error
-- @tparam[opt=2] integer level as for `error`, counted from the caller of `check`
-- @tparam[opt] string prefix prepended to option names (e.g. `"retries."`)
-- @tparam[opt] boolean raise_values true: values out of range raise too
-- @treturn string|nil the first value error
function M.check(section, opts, fname, level, prefix, raise_values)
  local first
  for k, v in pairs(opts) do
    local why, kind = M.why(section, k, v)
    if why and (kind ~= "value" or raise_values) then
      error(("bad argument #1 to '%s' (%s%s)"):format(fname, prefix or "", why), (level or 2) + 1)
    end
    if why and not first then first = (prefix or "") .. why end
  end
  return first
end

-- A value in the core's unit (nil stays nil: the core applies its default).
local function to_core(e, v)
  if v == nil then return nil end
  local s = e.scale or 1
  if s == 1 then return v end
  return math.floor(v * s + 0.5)
end

--- Checks `zlock.new`'s options and turns those the core reads into `core.client`'s settings
-- (named and scaled as the C fields; unset ones are absent). Raises on an unknown option, a
-- wrong type or a number out of range (see `check`).
-- @tparam table opts
-- @tparam[opt=2] integer level error level, counted from the caller
-- @treturn table|nil settings for `core.client`, or nil and the message of a string outside its values
-- @treturn string|nil
function M.client_config(opts, level)
  level = (level or 2) + 1
  local why = M.check("new", opts, "new", level)
  if opts.retries then why = why or M.check("retries", opts.retries, "new", level, "retries.") end
  if why then return nil, why end
  local cfg = {}
  for _, e in ipairs(SECTIONS.new) do
    if e.layer ~= "lua" and e.type ~= "table" and opts[e.name] ~= nil then
      cfg[e.c or e.name] = to_core(e, opts[e.name])
    end
  end
  if opts.retries then
    for _, e in ipairs(SECTIONS.retries) do cfg[e.c] = to_core(e, opts.retries[e.name]) end
  end
  return cfg
end

--- An option's value in milliseconds for a transport: `opts[name]`, or its default.
-- @tparam table opts `zlock.new`'s options (already checked)
-- @tparam string name a `new` option in seconds
-- @treturn integer|nil
function M.ms(opts, name)
  local v = opts[name]
  if v == nil then v = M.default("new", name) end
  if v == nil then return nil end
  return math.floor(v * 1000 + 0.5)
end

local function cell(e)
  local t = e.type:gsub("|", " or ")
  if e.values then t = values_text(e.values):gsub('"', "`") .. (e.type:find("table", 1, true) and " or table" or "") end
  local range = ""
  if e.min and e.max then range = ("%s to %s"):format(num(e.min), num(e.max))
  elseif e.min then range = (">= %s"):format(num(e.min)) end
  local def = e.default
  if def == nil then def = "" elseif type(def) == "number" then def = num(def) else def = "`" .. def .. "`" end
  return ("| `%s` | %s | %s | %s | %s | %s | %s |"):format(e.name, t, e.unit or "", def, range, e.layer, e.doc)
end

--- The README's table of a section (Markdown), generated from this table.
-- @tparam string section
-- @treturn string
function M.markdown(section)
  local out = { "| option | type | unit | default | range | read by | meaning |", "|---|---|---|---|---|---|---|" }
  for _, e in ipairs(M.list(section)) do out[#out + 1] = cell(e) end
  return table.concat(out, "\n") .. "\n"
end

return M
