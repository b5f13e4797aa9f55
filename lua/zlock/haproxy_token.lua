--- One access token for every HAProxy process and Lua state: the Redis token store
-- (`zlock.redis_store`) over HAProxy's non-blocking Lua sockets (`core.tcp`), driven by
-- `zlock.token_store.refresh` (one refresher at a time, the others poll with `core.msleep`).
--
-- With `redis_url` (or `ZLOCK_REDIS_URL`) the `zlock.haproxy` transport sends every token
-- refresh through here, so HAProxy processes, their threads (`lua-load-per-thread` gives each
-- thread its own Lua state and client), nginx workers and CLI processes on one Redis mint one
-- token between them. Without it each Lua state refreshes its own token.
--
-- What HAProxy's sockets allow:
--
-- * `rediss://` is refused: `core.tcp`'s TLS does not verify the server's certificate. Use
--   `redis://` over loopback or a private network, or a local TLS tunnel to the Redis.
-- * The host is an IPv4 address (`localhost` means 127.0.0.1): `core.tcp` resolves no names.
-- * A connection per Redis command (no pool); token commands run only during refreshes, the
--   fleet budget's two per API request (`M.client`).
--
-- When Redis fails, the state warns once in HAProxy's log (`core.Warning`, naming `host:port`,
-- never the password) and refreshes its own token from then on.
-- @module zlock.haproxy_token
local redis_client = require "zlock.redis_client"
local store = require "zlock.redis_store"

local M = {}

--- Seconds between looks at Redis while another state refreshes.
M.POLL_S = 0.02

local function hx() return rawget(_G, "core") end

--- Checks a redis_url for use inside HAProxy (before any request).
-- @tparam string url
-- @treturn table|nil the parsed URL (host as an address), or nil and a message (never the password)
function M.check(url)
  local u, err = store.check(url)
  if not u then return nil, err end
  if u.tls then
    return nil, "redis_url: rediss:// is not supported inside HAProxy (its Lua sockets do not verify " ..
      "certificates); use redis:// to a Redis on loopback or a private network, or a local TLS tunnel"
  end
  if u.host == "localhost" then u.host = "127.0.0.1" end
  if not u.host:match("^%d+%.%d+%.%d+%.%d+$") then
    return nil, "redis_url: inside HAProxy the host must be an IPv4 address (HAProxy's Lua sockets " ..
      "resolve no names), got '" .. u.host .. "'"
  end
  return u
end

local function now()
  local t = hx().now()
  return t.sec + t.usec / 1e6
end

-- A connection per command (`core.tcp`), with the connect and read timeout of opts.
local function connector(opts)
  local timeout_s = ((opts or {}).timeout_ms or 10000) / 1000
  return function(to)
    local sock = hx().tcp()
    sock:settimeout(timeout_s)
    local c_ok, res, cerr = pcall(sock.connect, sock, to.host, to.port)
    if not c_ok or not res then
      return nil, "cannot connect to " .. redis_client.where(to) .. ": " .. tostring(c_ok and cerr or res)
    end
    return sock, false
  end
end

local function close(sock) sock:close() end

--- A Redis client over `core.tcp` (the fleet budget's: `zlock.budget`).
-- @tparam string url as for `M.new` (checked by `M.check`)
-- @tparam[opt] table opts `timeout_ms`
-- @return the client (`c:cmd(...)`), or nil and a message
function M.client(url, opts)
  local u, err = M.check(url)
  if not u then return nil, err end
  return redis_client.new(u, { connect = connector(opts), done = close })
end

--- A store for one client.
-- @tparam string url `redis://[user:pass@]host[:port][/db]` (checked by `M.check`)
-- @tparam string key the client's `token_store_key()`
-- @tparam[opt] table opts `timeout_ms` (connect and each read; default 10000)
-- @return the store, or nil and a message
function M.new(url, key, opts)
  local u, err = M.check(url)
  if not u then return nil, err end
  local connect = connector(opts)
  local t = hx().now()
  local id = ("%s-%s-%d.%06d-%s"):format(tostring(hx().get_info().Pid), tostring(hx().thread), t.sec, t.usec,
    tostring({}):match("0x%x+") or "")
  return store.new(u, key, { connect = connect, done = close, now = now, id = id })
end

--- The environment `zlock.token_store.refresh` needs, inside HAProxy.
-- @tparam number ttl the refresh lock's lifetime (seconds)
-- @treturn table
function M.env(ttl)
  return { now = now, ttl = ttl, poll = M.POLL_S,
           sleep = function(s) hx().msleep(math.floor(s * 1000)) end,
           warn = function(msg) hx().Warning("zlock: " .. msg) end }
end

return M
