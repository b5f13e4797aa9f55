--- The nginx transport: drives the core's call state machine with nginx's non-blocking I/O.
--
-- The C core decides everything (request bytes, token, retries with backoff and jitter,
-- refresh on 401, lock reconciliation, error classification); this object only performs
-- the steps it asks for, without ever blocking the nginx worker:
--
-- * `send` steps go out on cosockets: lua-resty-http when it is installed
--   (`pcall(require, "resty.http")`), else `zlock.ngx.http` (plain `ngx.socket.tcp`, keep-alive
--   pool, TLS verification on), which needs nothing beyond Debian's `libnginx-mod-http-lua`;
-- * `wait` steps (backoff) and `wait_token` steps (another light thread of this worker is
--   refreshing the token) sleep with `ngx.sleep`, which yields to other requests;
-- * with `shared_dict`, token refreshes go through `zlock.ngx.token` (one per nginx instance);
--   with `redis_url`, through `zlock.ngx.redis_store` (one per Redis: hosts and CLI processes).
--
-- `zlock.new{}` picks it automatically inside nginx phases that allow cosockets, or with
-- `transport = "ngx"`.
-- @module zlock.ngx.transport
local ngx = ngx
local http = require "zlock.ngx.http"
local token_mod = require "zlock.ngx.token"
local options = require "zlock.options"
local token_store = require "zlock.token_store"
local redis_store = require "zlock.ngx.redis_store"

local M = {}

local Transport = {}
Transport.__index = Transport

local function resty_http()
  local ok, mod = pcall(require, "resty.http")
  if ok and type(mod) == "table" and mod.new then return mod end
  return nil
end

-- lua-resty-http error text -> core transport error name.
local function resty_terr(err)
  err = tostring(err)
  if err:find("handshake", 1, true) or err:find("certificate", 1, true) or err:find("ssl", 1, true) then
    return "tls"
  end
  if err:find("timeout", 1, true) then return "timeout" end
  if err:find("refused", 1, true) or err:find("resolve", 1, true) or err:find("unreachable", 1, true) then
    return "connect"
  end
  if err:find("closed", 1, true) or err:find("reset", 1, true) then return "closed" end
  return "other"
end

-- The reply's X-API-CREDITS-REMAINING as a number (nil: absent): the core ends a call whose
-- 429 says 0 credits remain instead of retrying it for minutes.
local function credits(headers)
  local v = headers and (headers["X-API-CREDITS-REMAINING"] or headers["x-api-credits-remaining"])
  if type(v) == "table" then v = v[#v] end
  return tonumber(v)
end

--- Creates the transport.
-- @tparam[opt] table opts `zlock.new`'s options (checked, defaults and units: `zlock.options`);
--   used here: `shared_dict`, `redis_url` (a Redis holding the token for every worker, host
--   and CLI process: `zlock.ngx.redis_store`; wins over `shared_dict`), `timeout`,
--   `connect_timeout`, `max_response_bytes`, `keepalive`, `pool_size`, `user_agent`, `http`,
--   `refresh_lock_ttl`
-- @return the transport, or nil and a message (unknown shared dict)
function M.new(opts)
  opts = opts or {}
  local self = setmetatable({
    connect_timeout_ms = options.ms(opts, "connect_timeout"),
    timeout_ms = options.ms(opts, "timeout"),
    max_response_bytes = opts.max_response_bytes or options.default("new", "max_response_bytes"),
    keepalive_ms = options.ms(opts, "keepalive"),
    pool_size = opts.pool_size,
    user_agent = opts.user_agent or options.default("new", "user_agent"),
    name = "ngx",
  }, Transport)
  if opts.http ~= "cosocket" then self.resty = resty_http() end
  if opts.http == "resty" and not self.resty then return nil, "lua-resty-http is not installed" end
  if opts.shared_dict ~= nil then
    if type(opts.shared_dict) ~= "string" then return nil, "shared_dict must be a string" end
    -- the lock must outlive one refresh request (its timeout), or a second worker would start one
    local ttl = opts.refresh_lock_ttl or (self.timeout_ms / 1000 + 5)
    local store, err = token_mod.new(opts.shared_dict, ttl)
    if not store then return nil, err end
    self.shared = store
  end
  if opts.redis_url ~= nil then
    -- Redis wins over the shared dict: it also reaches other hosts and CLI processes
    local ok, err = redis_store.check(opts.redis_url)
    if not ok then return nil, err end
    self.redis_url = opts.redis_url
    self.lock_ttl = opts.refresh_lock_ttl or (self.timeout_ms / 1000 + 5)
  end
  return self
end

--- The HTTP client in use: `"resty.http"` or `"cosocket"`.
-- @treturn string
function Transport:http_client()
  return self.resty and "resty.http" or "cosocket"
end

--- Performs a SEND step.
-- @tparam table step the core's step (`method`, `url`, `headers`, `body`, `idempotent`)
-- @return status, body, errcode (`nil` when a reply arrived), credits (the reply's
--   X-API-CREDITS-REMAINING, nil when absent) as `call:feed` takes them
function Transport:send(step)
  if self.resty then
    local c = self.resty.new()
    c:set_timeouts(self.connect_timeout_ms, self.timeout_ms, self.timeout_ms)
    local headers = step.headers
    if headers["User-Agent"] == nil then headers["User-Agent"] = self.user_agent end   -- one UA everywhere
    local res, err = c:request_uri(step.url, {
      method = step.method, headers = headers, body = step.body, ssl_verify = true,
      keepalive_timeout = self.keepalive_ms, keepalive_pool = self.pool_size,
    })
    if not res then return 0, "", resty_terr(err) end
    local body = res.body or ""
    if self.max_response_bytes and #body > self.max_response_bytes then return 0, "", "too_large" end
    return res.status, body, nil, credits(res.headers)
  end
  local status, body, e = http.request{
    method = step.method, url = step.url, headers = step.headers, body = step.body,
    idempotent = step.idempotent, connect_timeout_ms = self.connect_timeout_ms,
    timeout_ms = self.timeout_ms, max_response_bytes = self.max_response_bytes,
    keepalive_ms = self.keepalive_ms, pool_size = self.pool_size, user_agent = self.user_agent,
  }
  if not status then
    local errname, msg = body, e   -- msg names the host, never a token
    if errname == "tls" or errname == "connect" then ngx.log(ngx.WARN, "zlock: ", msg) end
    return 0, "", errname
  end
  return status, body, nil, credits(e)
end

--- Redis for the fleet budget (`zlock.budget`): the client of `redis_url` over cosockets, and
-- a name unique to this worker.
-- @tparam number ms the longest a connect or a reply may take
-- @return the Redis client and the holder name, or nil without `redis_url`
function Transport:budget_redis(ms)
  if not self.redis_url then return nil end
  local r = redis_store.client(self.redis_url, {
    connect_timeout_ms = math.min(ms, self.connect_timeout_ms), timeout_ms = ms, pool_size = self.pool_size,
    keepalive_ms = self.keepalive_ms })
  return r, ("ngx:%s:%d"):format(ngx.worker.pid(), math.random(1, 2 ^ 30))
end

--- Logs a warning (the fleet budget's, when Redis fails).
function Transport:warn(msg) -- luacheck: no self
  ngx.log(ngx.WARN, "zlock: ", msg)
end

--- Backs off without blocking the worker.
-- @tparam number wait_ms milliseconds
function Transport:sleep(wait_ms) -- luacheck: no self
  ngx.sleep((wait_ms or 0) / 1000)
end

--- Another call of this worker refreshes the token: yield a moment, then step again.
function Transport:wait_token() -- luacheck: no self
  ngx.sleep(0.005)
end

--- Before a call: installs a token another worker stored in the shared dict.
-- @param core the C client
function Transport:prepare(core)
  if self.shared then self.shared:install(core) end
end

--- Satisfies a token-request step: shared dict (one refresh per nginx instance) or a plain send.
-- @param call the core call
-- @tparam table step the SEND step with `token_request`
-- @param core the C client
function Transport:send_token(call, step, core)
  if self.redis_url then
    if not self.redis then
      self.redis = assert(redis_store.new(self.redis_url, core:token_store_key(), {
        connect_timeout_ms = self.connect_timeout_ms, timeout_ms = self.timeout_ms,
        keepalive_ms = self.keepalive_ms, pool_size = self.pool_size }))
    end
    token_store.refresh(self.redis, call, step, core, function(s) return self:send(s) end,
      token_mod.env(self.lock_ttl))
    return
  end
  if not self.shared then
    call:feed(self:send(step))
    return
  end
  self.shared:refresh(call, step, core, function(s) return self:send(s) end)
end

return M
