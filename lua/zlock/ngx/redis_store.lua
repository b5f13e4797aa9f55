--- The Redis token store inside nginx (`zlock.redis_store` over cosockets, never blocking a
-- worker), and its Redis client for the fleet budget: connections come from nginx's pool
-- (`setkeepalive`), keyed by host, port and database; `rediss://` does the TLS handshake with
-- verification (nginx's `lua_ssl_trusted_certificate`). The URL and its password are never logged.
-- @module zlock.ngx.redis_store
local ngx = ngx
local redis_client = require "zlock.redis_client"
local store = require "zlock.redis_store"

local M = {}

--- Checks a redis_url (before any request).
-- @treturn table|nil the parsed URL, or nil and a message
M.check = store.check

-- The socket factory of zlock.redis_client: a pooled cosocket (TLS handshake done on a new one).
local function io(o)
  local function connect(u)
    local sock = ngx.socket.tcp()
    sock:settimeouts(o.connect_timeout_ms or 10000, o.timeout_ms or 30000, o.timeout_ms or 30000)
    local where = redis_client.where(u)
    local ok, err = sock:connect(u.host, u.port, { pool = ("zlock-redis:%s:%d:%d"):format(u.host, u.port, u.db) })
    if not ok then return nil, "cannot connect to " .. where .. ": " .. tostring(err) end
    if sock:getreusedtimes() > 0 then return sock, true end
    if u.tls then   -- rediss://: verified (lua_ssl_trusted_certificate)
      local _, herr = sock:sslhandshake(nil, u.host, true)
      if herr then sock:close(); return nil, "TLS handshake with " .. where .. " failed: " .. tostring(herr) end
    end
    return sock, false
  end
  local function done(sock)
    sock:setkeepalive(o.keepalive_ms or 30000, o.pool_size)
  end
  return connect, done
end

--- A Redis client (`zlock.redis_client`) over nginx's pooled cosockets, for other users of the
-- same Redis (the fleet budget).
-- @tparam string url `redis[s]://[user:pass@]host[:port][/db]`
-- @tparam table opts as for `M.new`
-- @return the client (`c:cmd(...)`), or nil and a message
function M.client(url, opts)
  local u, err = store.check(url)
  if not u then return nil, err end
  local connect, done = io(opts or {})
  return redis_client.new(u, { connect = connect, done = done })
end

--- A store for one client.
-- @tparam string url `redis[s]://[user:pass@]host[:port][/db]`
-- @tparam string key the client's `token_store_key()`
-- @tparam table opts `connect_timeout_ms`, `timeout_ms`, `pool_size`, `keepalive_ms`
-- @return the store, or nil and a message
function M.new(url, key, opts)
  local connect, done = io(opts or {})
  return store.new(url, key, { connect = connect, done = done, now = ngx.now,
    id = ("%d-%s-%d"):format(ngx.worker.pid(), tostring(ngx.now()), math.random(1, 2 ^ 30)) })
end

return M
