--- Redis over cqueues sockets, for the cqueues transport (`zlock.cqueues`): the Redis token
-- store (`zlock.redis_store`) and the fleet budget's client through `zlock.redis_client`,
-- never blocking the controller (a read, a write, a connect or a TLS handshake that waits
-- yields to it).
--
--     local link = assert(cqueues_redis.new(url, { timeout_ms = 30000, connect_timeout_ms = 10000 }))
--     link:client():cmd("PING")             --> "PONG"
--     local store = link:store(client:token_store_key(), id)   -- for zlock.token_store.refresh
--
-- * Connections are kept alive in a small pool per link: a command has its connection to
--   itself from its write to its reply (two coroutines never share one); afterwards the
--   connection goes back to the pool (at most `max_idle`, default 8, wait there). A pooled
--   connection the server closed meanwhile (a restart, Redis's `timeout`) is dropped before use.
-- * `rediss://`: TLS through luaossl, the peer verified against the system's CAs plus
--   `ca_file`, and its certificate must name the URL's host (DNS name or IP address).
--   Without luaossl's host-name check (`openssl.x509.verify_param` `setHost`) `rediss://` is refused.
-- * Timeouts: the connection and TLS handshake `connect_timeout_ms`; each read and write
--   `timeout_ms` (a client may ask for shorter ones: `link:client(opts)`).
--
-- Messages name the server as `host:port`, never the URL's password.
-- @module zlock.cqueues_redis
local cqueues = require "cqueues"
local csocket = require "cqueues.socket"
local errno = require "cqueues.errno"
local redis_client = require "zlock.redis_client"
local store = require "zlock.redis_store"

local M = {}

--- Seconds between looks at Redis while another process refreshes the token.
M.POLL_S = 0.02

-- Unix time with sub-second steps, read from the monotonic clock (anchored once: at most a
-- second early, never late, so a token's expiry is never taken for later than it is).
local WALL0, MONO0 = os.time(), cqueues.monotime()
local function now() return WALL0 + (cqueues.monotime() - MONO0) end

local function strerror(e)
  if type(e) == "number" then return errno.strerror(e) or ("error " .. e) end
  return tostring(e)
end

-- luaossl with host-name verification, or nil and why not.
local function openssl()
  local ok, ctx = pcall(require, "openssl.ssl.context")
  local ok2, ssl = pcall(require, "openssl.ssl")
  local ok3, vp = pcall(require, "openssl.x509.verify_param")
  if not (ok and ok2 and ok3) then return nil, "needs luaossl" end
  if not vp.new().setHost then
    return nil, "needs a luaossl that checks host names (openssl.x509.verify_param setHost)"
  end
  return { ctx = ctx, ssl = ssl, vp = vp }
end

--- Checks a redis_url for use over cqueues (before any request).
-- @tparam string url `redis[s]://[user:pass@]host[:port][/db]`
-- @treturn table|nil the parsed URL, or nil and a message (never the password)
function M.check(url)
  local u, err = store.check(url)
  if not u then return nil, err end
  if u.tls then
    local _, why = openssl()
    if why then return nil, "redis_url: rediss:// " .. why end
  end
  return u
end

-- A client TLS context: peer verification on, the system's CAs and ca_file.
local function tls_context(o, ca_file)
  local ctx = o.ctx.new("TLS", false)
  ctx:setOptions(o.ctx.OP_NO_SSLv2 + o.ctx.OP_NO_SSLv3 + o.ctx.OP_NO_TLSv1 + o.ctx.OP_NO_TLSv1_1)
  ctx:setVerify(o.ctx.VERIFY_PEER)
  local st = ctx:getStore()
  st:addDefaults()
  if ca_file then
    local ok, err = pcall(st.add, st, ca_file)
    if not ok then return nil, "redis_url: cannot read ca_file: " .. tostring(err) end
  end
  return ctx
end

-- Errors come back as return values (the default handler raises some).
local function keep(_, _, why) return why end

-- A connection as zlock.redis_client wants it: send, receive("*l"), receive(n), close.
local Conn = {}
Conn.__index = Conn

function Conn:send(data)
  local ok, e = self.sock:write(data)
  if ok then ok, e = self.sock:flush() end
  if not ok then return nil, strerror(e) end
  return #data
end

function Conn:receive(what)
  local data, e = self.sock:read(what)
  if not data then return nil, e and strerror(e) or "closed" end
  if what == "*l" then return (data:gsub("\r$", "")) end
  if #data < what then return nil, "closed" end
  return data
end

function Conn:close() self.sock:close() end

-- Whether an idle pooled connection is still open: nothing to read yet (an end of stream or
-- bytes nobody asked for both mean no).
function Conn:idle_ok()
  local ok, e = self.sock:fill(1, 0)
  self.sock:clearerr()
  return not ok and e == errno.ETIMEDOUT
end

local Link = {}
Link.__index = Link

--- A link to one Redis: its connection pool, and the clients and stores that use it.
-- @tparam string url `redis[s]://[user:pass@]host[:port][/db]` (checked by `M.check`)
-- @tparam[opt] table opts `timeout_ms` (each read and write; default 30000),
--   `connect_timeout_ms` (default 10000), `ca_file` (rediss://: CAs besides the system's),
--   `max_idle` (pooled connections kept, default 8)
-- @return the link, or nil and a message (never the password)
function M.new(url, opts)
  opts = opts or {}
  local u, err = M.check(url)
  if not u then return nil, err end
  local self = setmetatable({ u = u, where = redis_client.where(u), idle = {}, max_idle = opts.max_idle or 8,
    timeout_s = (opts.timeout_ms or 30000) / 1000, connect_s = (opts.connect_timeout_ms or 10000) / 1000,
    opened = 0 }, Link)
  if u.tls then
    self.ossl = openssl()
    self.ctx, err = tls_context(self.ossl, opts.ca_file)
    if not self.ctx then return nil, err end
  end
  return self
end

-- The TLS handshake on a connected socket, the host name checked: true, or nil and why not.
function Link:handshake(sock, timeout_s)
  local o, host = self.ossl, self.u.host
  local ssl = o.ssl.new(self.ctx)
  local param = o.vp.new()
  if host:match("^%d+%.%d+%.%d+%.%d+$") or host:find(":", 1, true) then
    param:setIP(host)
  else
    ssl:setHostName(host)   -- SNI
    param:setHost(host)
  end
  local inherited = ssl:getParam()
  inherited:inherit(param)
  ssl:setParam(inherited)
  local ok, e = sock:starttls(ssl, timeout_s)
  if ok then return true end
  local code, text = ssl:getVerifyResult()
  local why = strerror(e):gsub("^error:%x+:[^:]*::?", "")
  if code and code ~= 0 then why = why .. " (" .. tostring(text) .. ")" end
  return nil, why
end

-- A new connection (AUTH and SELECT still to send): the Conn, or nil and a message.
function Link:open(to)
  local u, where = self.u, self.where
  local made, sock = pcall(csocket.connect, { host = u.host, port = u.port, nodelay = true })
  if not made or not sock then return nil, "cannot connect to " .. where .. ": " .. tostring(sock) end
  sock:onerror(keep)
  sock:setmode("b", "b")
  sock:settimeout(to.timeout_s)
  local ok, e = sock:connect(to.connect_s)
  if not ok then
    sock:close()
    return nil, "cannot connect to " .. where .. ": " .. strerror(e)
  end
  if self.ctx then
    local why
    ok, why = self:handshake(sock, to.connect_s)
    if not ok then
      sock:close()
      return nil, "TLS handshake with " .. where .. " failed: " .. why
    end
  end
  self.opened = self.opened + 1
  return setmetatable({ sock = sock }, Conn)
end

-- zlock.redis_client's socket factory: a pooled connection (reused = true), or a new one,
-- with the timeouts `to` (`timeout_s`, `connect_s`).
function Link:take(to)
  local idle = self.idle
  while #idle > 0 do
    local c = table.remove(idle)   -- this coroutine's alone from here on
    if c:idle_ok() then
      c.sock:settimeout(to.timeout_s)
      return c, true
    end
    c:close()
  end
  local c, err = self:open(to)
  if not c then return nil, err end
  return c, false
end

-- The socket factory of zlock.redis_client over the pool, with the link's timeouts or shorter ones.
function Link:io(opts)
  local to = { timeout_s = self.timeout_s, connect_s = self.connect_s }
  if opts and opts.timeout_ms then to.timeout_s = math.min(to.timeout_s, opts.timeout_ms / 1000) end
  if opts and opts.connect_timeout_ms then to.connect_s = math.min(to.connect_s, opts.connect_timeout_ms / 1000) end
  return { connect = function() return self:take(to) end, done = function(c) self:put(c) end }
end

-- After a command that went well: back to the pool, or closed when the pool is full.
function Link:put(c)
  if #self.idle < self.max_idle then self.idle[#self.idle + 1] = c else c:close() end
end

--- A Redis client over this link's pool (the fleet budget's: `zlock.budget`).
-- @tparam[opt] table opts shorter timeouts than the link's: `timeout_ms`, `connect_timeout_ms`
-- @return the client (`c:cmd(...)`)
function Link:client(opts)
  return redis_client.new(self.u, self:io(opts))
end

--- The Redis token store of one client over this link's pool.
-- @tparam string key the client's `token_store_key()`
-- @tparam string id this process's refresh-lock value (unique among holders)
-- @return the store (`zlock.token_store`)
function Link:store(key, id)
  local io = self:io()
  return store.new(self.u, key, { connect = io.connect, done = io.done, now = now, id = id })
end

--- Closes the pooled connections (those in use close when their command ends).
function Link:close()
  for _, c in ipairs(self.idle) do c:close() end
  self.idle = {}
end

--- The environment `zlock.token_store.refresh` needs on a cqueues controller.
-- @tparam number ttl the refresh lock's lifetime (seconds)
-- @tparam function warn `warn(msg)`
-- @treturn table
function M.env(ttl, warn)
  return { now = now, ttl = ttl, poll = M.POLL_S, sleep = cqueues.sleep, warn = warn }
end

--- Unix time in seconds, with sub-second steps (what the store and the budget are given).
M.now = now

return M
