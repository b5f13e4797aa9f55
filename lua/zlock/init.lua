--- zlock: Zoho CRM record locks from Lua.
--
--     local zlock = require "zlock"
--     local c = assert(zlock.new{ dc = "eu", client_id = ID, client_secret = SECRET, refresh_token = RT })
--     local lock = assert(c:lock("Deals", "5843104000001068086", "last round of negotiations"))
--     c:get("Deals", "5843104000001068086", lock.id)     -- the lock record
--     c:get("Deals", "5843104000001068086")              -- array of locks ({} when unlocked), info
--     c:update("Deals", "5843104000001068086", lock.id, "awaiting final approval")
--     c:unlock("Deals", "5843104000001068086", lock.id)
--     zlock.lock("Deals", id, reason)   -- same four on a default client (environment / zlock.configure)
--
-- The C core (`zlock.core`, libcurl + jansson) builds requests, retries 429/5xx/transport
-- failures with exponential backoff and full jitter, refreshes the token once on 401 (one
-- refresh in flight per client), and reconciles a lock after an ambiguous failure.
-- JSON null is `zlock.null` (it is `cjson.null`). Ids are strings.
-- @module zlock
local core = require "zlock.core"
local cjson = require "cjson.safe"
local errors = require "zlock.error"
local options = require "zlock.options"
local Client = require "zlock.client"

local zlock = {
  _VERSION = core.version,
  --- JSON null in results (`cjson.null`).
  null = cjson.null,
  error = errors,
}

local ENV = {
  access_token = "ZOHO_ACCESS_TOKEN", refresh_token = "ZOHO_REFRESH_TOKEN",
  client_id = "ZOHO_CLIENT_ID", client_secret = "ZOHO_CLIENT_SECRET", dc = "ZOHO_DC",
  api_domain = "ZOHO_API_DOMAIN", accounts_domain = "ZOHO_ACCOUNTS_DOMAIN",
  api_version = "ZOHO_API_VERSION", env = "ZOHO_ENV", log = "ZLOCK_LOG", proxy = "ZLOCK_PROXY",
  redis_url = "ZLOCK_REDIS_URL", token_store = "ZLOCK_TOKEN_STORE", org_limit = "ZLOCK_ORG_LIMIT",
  org_reserve = "ZLOCK_ORG_RESERVE", org_budget = "ZLOCK_ORG_BUDGET", org_id = "ZLOCK_ORG_ID",
}

-- An environment value in the option's type (numbers and booleans; anything else stays a
-- string, for the options check to refuse with the option's name).
local BOOLEAN = { on = true, ["true"] = true, ["1"] = true, off = false, ["false"] = false, ["0"] = false }
local function env_value(name, v)
  local e = options.get("new", name)
  local t = e and e.type
  if t == "integer" or t == "number" then return tonumber(v) or v end
  if t == "boolean" and BOOLEAN[v:lower()] ~= nil then return BOOLEAN[v:lower()] end
  return v
end

--- Options from the environment (`ZOHO_ACCESS_TOKEN`, `ZOHO_REFRESH_TOKEN`, `ZOHO_CLIENT_ID`,
-- `ZOHO_CLIENT_SECRET`, `ZOHO_DC`, `ZOHO_ENV`, `ZOHO_API_DOMAIN`, `ZOHO_ACCOUNTS_DOMAIN`,
-- `ZOHO_API_VERSION`, `ZLOCK_LOG`, `ZLOCK_PROXY`, `ZLOCK_REDIS_URL`, `ZLOCK_TOKEN_STORE`,
-- `ZLOCK_ORG_LIMIT`, `ZLOCK_ORG_RESERVE`, `ZLOCK_ORG_BUDGET`, `ZLOCK_ORG_ID`), overlaid with `opts`.
-- @tparam[opt] table opts options that win over the environment
-- @treturn table options for `zlock.new`
function zlock.env_options(opts)
  local o = {}
  for k, var in pairs(ENV) do
    local v = os.getenv(var)
    if v and v ~= "" then o[k] = env_value(k, v) end
  end
  for k, v in pairs(opts or {}) do o[k] = v end
  return o
end

--- Creates a client.
-- @tparam table opts the options of `zlock.options` (section `new`, and `retries`): where
--  (`dc`, `env`, `api_domain`, `accounts_domain`, `api_version`), auth (`access_token`,
--  `expires_at`; `client_id`, `client_secret`, `refresh_token`, `refresh_ahead`), the transport
--  (`timeout`, `connect_timeout`, `max_response_bytes`, `ca_file`, `user_agent`, `transport`;
--  nginx: `shared_dict`, `keepalive`, `pool_size`, `http`, `refresh_lock_ttl`),
--  `retries = { max_attempts, max_time, base_delay, max_delay }`, `on_retry = function(info)`
--  (called before each backoff with `info.attempt`, `info.delay` (s), `info.error`,
--  `info.operation`, `info.module`, `info.record_id`; return `false` to stop retrying), `seed`;
--  `proxy` (a proxy URL for every request; libcurl transport only), `on_request` /
--  `on_response` (`function(info)` around each HTTP request) and `log` (`"debug"` or a
--  `function(line)`): see `zlock.log`.
--  `transport`: `"auto"` (default: the host's own I/O inside nginx, HAProxy or a cqueues
--  controller, else libcurl), `"curl"`, `"ngx"`, `"haproxy"`, `"cqueues"`, or a table
--  implementing the contract in `zlock.transport`.
--  An unknown option, one of the wrong type or a number out of range raises
--  `bad argument #1 to 'new' (...)`; a string outside its allowed values (`dc`, `env`,
--  `api_version`..., which may come from the environment) returns `nil, err` (INVALID_ARGUMENT).
-- @return the client, or `nil, err`
function zlock.new(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("bad argument #1 to 'new' (options table expected, got " .. type(opts) .. ")", 2)
  end
  opts = opts or {}
  local cfg, why = options.client_config(opts, 2)
  if not cfg then return nil, errors.new{ code = "INVALID_ARGUMENT", message = why } end
  local transport = require("zlock.transport").pick(opts.transport, opts)
  -- the core's token stores block (file lock, Redis): only its own libcurl drivers use them; a
  -- Lua transport shares tokens its own way (nginx: the shared dict or Redis, over cosockets)
  if transport then cfg.token_store = "none" end
  if transport and opts.proxy then
    error("bad argument #1 to 'new' (proxy works with the libcurl transport only)", 2)
  end
  local log = require("zlock.log").new(opts)
  local cc, err = core.client(cfg)
  if not cc then return nil, errors.new(err) end
  return setmetatable({ _core = cc, _on_retry = opts.on_retry, _transport = transport,
                        _log = log, _proxy = opts.proxy }, Client)
end

local default_opts, default_client

--- Sets the options of the default client used by `zlock.get/lock/update/unlock`
-- (overlaid on the environment). The client is (re)built on next use.
-- @tparam table opts as for `zlock.new`
function zlock.configure(opts)
  if type(opts) ~= "table" then
    error("bad argument #1 to 'configure' (options table expected, got " .. type(opts) .. ")", 2)
  end
  if default_client then default_client:close() end
  default_opts, default_client = opts, nil
end

--- The default client (built from the environment and `zlock.configure`).
-- @return the client, or `nil, err`
function zlock.default()
  if not default_client then
    local c, err = zlock.new(zlock.env_options(default_opts))
    if not c then return nil, err end
    default_client = c
  end
  return default_client
end

local function forward(name)
  local check = Client._args[name]
  return function(...)
    check(...)   -- bad arguments raise even when no default client can be built
    local c, err = zlock.default()
    if not c then return nil, err end
    return c[name](c, ...)
  end
end

--- `zlock.get(module, record_id[, lock_id][, opts])` on the default client (see `zlock.client:get`).
-- @function get
zlock.get = forward("get")
--- `zlock.lock(module, record_id, reason)` on the default client.
-- @function lock
zlock.lock = forward("lock")
--- `zlock.update(module, record_id, lock_id, reason)` on the default client.
-- @function update
zlock.update = forward("update")
--- `zlock.unlock(module, record_id[, lock_id])` on the default client.
-- @function unlock
zlock.unlock = forward("unlock")
--- `zlock.locked(module, record_id)` on the default client.
-- @function locked
zlock.locked = forward("locked")
--- `zlock.request(method, path[, opts])` on the default client.
-- @function request
zlock.request = forward("request")

-- c:search/records/coql/locks, c:bulk and the configuration methods (zlock.config), loaded on first
-- use (keeps `require "zlock"` fast);
-- those modules never require "zlock": no cycle.
local LAZY = { search = "zlock.select", records = "zlock.select", coql = "zlock.select", locks = "zlock.select",
  search_pages = "zlock.select", records_pages = "zlock.select", coql_pages = "zlock.select", bulk = "zlock.bulk" }
for _, m in ipairs{ "lock_config", "create_lock_config", "update_lock_config", "delete_lock_config",
                   "add_lock_rule", "update_lock_rule", "delete_lock_rule" } do LAZY[m] = "zlock.config" end
setmetatable(Client, { __index = function(_, k)
  local name = LAZY[k]
  if not name then return nil end
  local ok, mod = pcall(require, name)
  if ok and type(mod) == "table" and mod.install then mod.install(Client) end
  return rawget(Client, k)
end })

zlock.Client = Client
return zlock
