--- Transports: how a zlock client's requests reach Zoho, and the contract a new one implements.
--
-- The C core decides everything about a call (request bytes, token, retries with backoff and
-- jitter, refresh on 401, reconciliation after a lost reply, error classification) as a state
-- machine that performs no I/O. A transport performs the steps it asks for, with its host's
-- own I/O, so a host with an event loop is never blocked:
--
-- | host | transport | picked | blocks the host |
-- |---|---|---|---|
-- | plain Lua, LuaJIT, Apache mod_lua | `"curl"`: libcurl in C | by default | yes (Apache: one thread per request) |
-- | OpenResty / nginx | `"ngx"`: cosockets (`zlock.ngx`) | in phases with cosockets | no |
-- | HAProxy 2.6+ | `"haproxy"`: `core.httpclient` (`zlock.haproxy`) | when `core.httpclient` exists | no |
-- | cqueues servers | `"cqueues"`: lua-http (`zlock.cqueues`) | inside a cqueues controller | no |
--
-- ## The contract
-- A transport is a table (`zlock.new{ transport = t }`) with:
--
-- * `t:send(step)` (required): performs one HTTP exchange. `step.method` (`GET`, `POST`, `PUT`,
--   `DELETE`), `step.url` (absolute; https, or http to loopback only), `step.headers`
--   (`{Name = value}`; add `User-Agent: options.default("new", "user_agent")` from
--   `zlock.options` unless the user set `user_agent`), `step.body` (string or nil),
--   `step.idempotent`, `step.token_request` (the OAuth refresh: its body holds secrets, never
--   log it). Returns `status, body, errcode, credits`: the HTTP status and body of a reply
--   (`errcode` nil), or `0, "", errcode` when no complete reply came, with `errcode` one of
--   `"connect"` (not sent), `"timeout"` or `"closed"` (sent, may have been applied: the core
--   reconciles), `"tls"`, `"too_large"`, `"other"`; `credits` is the reply's
--   `X-API-CREDITS-REMAINING` as a number (nil when absent), so a 429 with none left is final.
-- * `t:sleep(ms)` (optional; default: a blocking sleep): waits before a retry. Yield to your
--   host's loop here.
-- * `t:wait_token(step)` (optional; default: a 5 ms blocking sleep): another call of the same
--   client is refreshing the token; yield a moment, the core then steps again.
-- * `t.resends` (optional boolean): set it when your HTTP client may re-send a request on its
--   own after a lost reply (HAProxy 2.6's does); the core then reconciles the answers a second
--   copy would get.
-- * `t:prepare(core_client)`, `t:send_token(call, step, core_client)` (optional): share the
--   access token outside the process (see `zlock.ngx.token`, `zlock.haproxy_token`,
--   `zlock.cqueues_redis`: each runs `zlock.token_store.refresh` over a store).
-- * `t:bulk_engine(client, opts)` (optional): a concurrent engine for `c:bulk{}` on your host's
--   threads; without it a bulk run calls one item at a time through `send`.
-- * `t:budget_redis(ms)` (optional): Redis for the org's fleet budget (`zlock.budget`): returns
--   an object whose `r:cmd(...)` sends one command over your host's sockets (reply, or `nil,
--   message`), and a name unique to this process or worker; nil when there is no `redis_url`.
--   A connect or a reply that takes longer than `ms` (the core's cap, at most `t.timeout_ms`)
--   must fail: such a Redis is worse than none, and the calls then go on without slots.
--   Each API request then takes an in-flight slot shared with every zlock process on the org.
-- * `t:warn(msg)` (optional): where the transport's warnings go (default: stderr).
-- * `t.timeout_ms` (optional number): the longest a request may wait for a budget slot.
-- * `t.name` (optional string): shown by `c:info().transport`.
--
-- What a transport must never do: re-send a POST, PUT or DELETE on its own (the core retries,
-- knowing whether the first copy may have landed; declare `resends` if your client cannot be
-- stopped), follow redirects, turn off certificate verification, or log headers or bodies
-- (they hold the token). The conformance spec (spec/hosts/transports_spec.lua) runs every
-- shipped transport through the same cases; run your own through it.
-- @module zlock.transport
local M = {}

-- The host zlock runs in, when it has a transport of its own: nginx (in a phase with
-- cosockets), HAProxy, a cqueues controller; nil otherwise.
local function detect()
  local ngx = rawget(_G, "ngx")
  if ngx and type(ngx.get_phase) == "function" then
    local ok, ngxt = pcall(require, "zlock.ngx")
    if ok and type(ngxt) == "table" and ngxt.usable and ngxt.usable() then return "ngx" end
  end
  local hx = rawget(_G, "core")
  if type(hx) == "table" and type(hx.httpclient) == "function" then return "haproxy" end
  if package.loaded.cqueues and require("zlock.cqueues").usable() then return "cqueues" end
  return nil
end

-- name -> module and constructor (each raises `bad argument` at level 4: the caller of new)
local BY_NAME = {
  ngx = { "zlock.ngx", "transport" }, haproxy = { "zlock.haproxy", "new" }, cqueues = { "zlock.cqueues", "new" },
}

local OPTIONAL_FUNCS = { "sleep", "wait_token", "prepare", "send_token", "bulk_engine", "budget_redis", "warn" }

--- Checks a transport table against the contract; raises `bad argument` naming what is wrong.
-- @tparam table t
-- @tparam[opt=2] integer level error level
-- @treturn table t
function M.check(t, level)
  level = (level or 2) + 1
  if type(t.send) ~= "function" then
    error("bad argument #1 to 'new' (transport table needs a send function)", level)
  end
  for _, k in ipairs(OPTIONAL_FUNCS) do
    if t[k] ~= nil and type(t[k]) ~= "function" then
      error("bad argument #1 to 'new' (transport." .. k .. " must be a function)", level)
    end
  end
  if t.resends ~= nil and type(t.resends) ~= "boolean" then
    error("bad argument #1 to 'new' (transport.resends must be a boolean)", level)
  end
  return t
end

--- Picks the transport for `zlock.new`: nil means libcurl in C.
-- @param t `"auto"` (default: detect the host), `"curl"`, `"ngx"`, `"haproxy"`, `"cqueues"`, or a
--   table implementing the contract
-- @tparam table opts `zlock.new`'s options (each transport reads its own)
-- @return the transport table, or nil for libcurl
function M.pick(t, opts)
  if t == nil or t == "auto" then t = detect() end
  if t == nil or t == "curl" then return nil end
  if type(t) == "table" then
    local checked = M.check(t, 3)
    return checked
  end
  local how = BY_NAME[t]
  if not how then
    error("bad argument #1 to 'new' (transport must be 'auto', 'curl', 'ngx', 'haproxy', 'cqueues' " ..
          "or a table with send)", 3)
  end
  local made = require(how[1])[how[2]](opts)   -- not a tail call: error levels stay put
  return made
end

return M
