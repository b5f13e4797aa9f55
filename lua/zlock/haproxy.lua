--- The HAProxy transport: drives the core's calls with HAProxy's own non-blocking HTTP client.
--
-- Inside HAProxy (2.6+, `lua-load` or `lua-load-per-thread`), in an action, a service or a
-- task, `zlock.new{}` picks it by itself (or `transport = "haproxy"`). Each `send` step goes
-- out through `core.httpclient()`, which yields to HAProxy's event loop while it waits, and
-- backoffs sleep with `core.msleep`: a zlock call never stalls other traffic.
--
-- What HAProxy's client decides, not zlock:
--
-- * TLS: verified against `httpclient.ssl.ca-file` (default: the system's CAs) as
--   `httpclient.ssl.verify` says (default `required`, keep it). HAProxy reports a failed
--   handshake like a refused connection, so a certificate problem surfaces as `CONNECT`.
-- * Name resolution: `httpclient.resolvers.id` (default: the `default` resolvers section,
--   which reads /etc/resolv.conf).
-- * Connections are not kept alive between calls.
-- * Access tokens: with `redis_url` (or `ZLOCK_REDIS_URL`), one token for every HAProxy
--   process and Lua state (and nginx workers, CLI processes) on that Redis, through
--   `zlock.haproxy_token`; without it, each Lua state refreshes its own (`lua-load`: one state
--   per process; `lua-load-per-thread`: one per thread).
-- * After a lost reply HAProxy 2.6 sends the request again by itself, up to 3 times, whatever
--   the method (2.7 and later: `httpclient.retries 0` stops it). The transport says so
--   (`resends = true`), and the core then takes a second copy's answer for what it is: a lock
--   answered "already locked" is reconciled, an unlock answered "relation not found" is done.
--
-- HAProxy answers a failed exchange with its own error page; this transport turns those back
-- into transport errors for the core (503 "No server is available" -> `connect`, 504 "didn't
-- respond in time" -> `timeout`, 502 "invalid or incomplete response" -> `closed`), so a lost
-- lock reply is reconciled rather than reported as Zoho's 5xx. Calls cannot run where HAProxy
-- forbids yielding (the body of a `lua-load` file, `core.register_init`): build clients lazily.
-- @module zlock.haproxy
local core_hx = rawget(_G, "core")

local options = require "zlock.options"
local token_store = require "zlock.token_store"
local haproxy_token = require "zlock.haproxy_token"

local M = {}

local Transport = {}
Transport.__index = Transport

--- Whether this transport can run here (inside HAProxy, whose `core` has `httpclient`).
-- @treturn boolean
function M.usable()
  local c = rawget(_G, "core")
  return type(c) == "table" and type(c.httpclient) == "function" and type(c.msleep) == "function"
end

local send_token

--- Creates the transport.
-- @tparam[opt] table opts `zlock.new`'s options (checked; defaults: `zlock.options`); read here:
--   `timeout`, `user_agent`, `redis_url` (share the token: `zlock.haproxy_token`; `redis://`
--   to an IPv4 address; `token_store = "none"` turns it off), `refresh_lock_ttl`
-- @return the transport; raises `bad argument` when it cannot run here or `redis_url` cannot
--   be used inside HAProxy
function M.new(opts)
  opts = opts or {}
  if not M.usable() then
    error("bad argument #1 to 'new' (transport 'haproxy' needs HAProxy's Lua (core.httpclient))", 4)
  end
  core_hx = rawget(_G, "core")
  local t = setmetatable({
    timeout_ms = options.ms(opts, "timeout"),
    user_agent = opts.user_agent or options.default("new", "user_agent"),
    name = "haproxy",
    resends = true,   -- HAProxy's httpclient retries lost replies itself (see above)
  }, Transport)
  if opts.redis_url ~= nil then
    local ok, err = haproxy_token.check(opts.redis_url)
    if not ok then error("bad argument #1 to 'new' (" .. err .. ")", 4) end
    t.budget_url = opts.redis_url      -- the org's fleet budget (zlock.budget), unless org_budget = false
  end
  if opts.redis_url ~= nil and opts.token_store ~= "none" then   -- "none": the user's opt-out
    t.redis_url, t.send_token = opts.redis_url, send_token
    -- the lock must outlive one refresh request (its timeout), or a second state would start one
    t.lock_ttl = opts.refresh_lock_ttl or (t.timeout_ms / 1000 + 5)
  end
  return t
end

-- HAProxy's own error pages (the body it writes when the server never answered properly).
local OWN_PAGES = {
  [503] = { "No server is available to handle this request", "connect" },
  [504] = { "The server didn't respond in time", "timeout" },
  [502] = { "The server returned an invalid or incomplete response", "closed" },
}

local function own_failure(status, body)
  local page = OWN_PAGES[status]
  if page and body:find(page[1], 1, true) and not body:find('"code"', 1, true) then return page[2] end
  return nil
end

-- HAProxy's header lists start at index 0.
local function header(headers, name)
  local v = headers and headers[name]
  if type(v) == "table" then return v[0] or v[1] end
  return v
end

local METHODS = { GET = "get", POST = "post", PUT = "put", DELETE = "delete" }

--- Performs a SEND step.
-- @tparam table step the core's step (`method`, `url`, `headers` as {Name = value}, `body`)
-- @return status, body, errcode (nil when a reply arrived), credits (X-API-CREDITS-REMAINING)
function Transport:send(step)
  local hdrs = { ["user-agent"] = { self.user_agent } }
  for k, v in pairs(step.headers or {}) do hdrs[k:lower()] = { v } end
  local hc = core_hx.httpclient()
  local ok, res = pcall(hc[METHODS[step.method]], hc, {
    url = step.url, headers = hdrs, body = step.body, timeout = self.timeout_ms,
  })
  if not ok or type(res) ~= "table" or not res.status or res.status == 0 then
    return 0, "", "closed"   -- no reply: it may have been applied
  end
  local body = res.body or ""
  local terr = own_failure(res.status, body)
  if terr then return 0, "", terr end
  return res.status, body, nil, tonumber(header(res.headers, "x-api-credits-remaining"))
end

--- Redis for the fleet budget (`zlock.budget`): a client of `redis_url` over `core.tcp`, and a
-- name unique to this process and Lua state.
-- @tparam number ms the longest a connect or a reply may take
-- @return the Redis client and the holder name, or nil without `redis_url`
function Transport:budget_redis(ms)
  if not self.budget_url then return nil end
  local c = assert(haproxy_token.client(self.budget_url, { timeout_ms = ms }))
  local t = core_hx.now()
  return c, ("haproxy:%s:%s:%d.%06d"):format(tostring(core_hx.get_info().Pid), tostring(core_hx.thread), t.sec, t.usec)
end

--- Logs a warning in HAProxy's log (the fleet budget's, when Redis fails).
function Transport:warn(msg) -- luacheck: no self
  core_hx.Warning("zlock: " .. msg)
end

--- Backs off without blocking HAProxy.
-- @tparam number wait_ms
function Transport:sleep(wait_ms) -- luacheck: no self
  core_hx.msleep(math.floor(wait_ms or 0))
end

--- Another call of this Lua state refreshes the token: yield a moment, then step again.
function Transport:wait_token() -- luacheck: no self
  core_hx.msleep(5)
end

-- Satisfies a token-request step through Redis (with `redis_url` only): reuses a token another
-- process or state stored, or refreshes, one at a time (`zlock.token_store.refresh`).
function send_token(self, call, step, core_client)
  if not self.store then
    self.store = assert(haproxy_token.new(self.redis_url, core_client:token_store_key(),
      { timeout_ms = self.timeout_ms }))
  end
  token_store.refresh(self.store, call, step, core_client, function(s) return self:send(s) end,
    haproxy_token.env(self.lock_ttl))
end

return M
