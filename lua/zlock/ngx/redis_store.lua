--- The Redis token store inside nginx, over cosockets (never blocking a worker): the same
-- entries as the C core's Redis store, so nginx workers, CLI processes and libcurl clients on
-- one Redis share one token. A small RESP codec (commands as arrays of bulk strings; replies
-- +, -, :, $, *) over `ngx.socket.tcp`, connections kept in nginx's pool.
--
-- Entries (per `client:token_store_key()`, a SHA-256 of accounts domain, client id and refresh
-- token): `zlock:token:<key>` = `"<api_domain>\n<access token>"` expiring with the token (PX),
-- read with its PTTL (Redis's clock); `zlock:lock:<key>` = the refresh lock (SET NX PX, released
-- by compare-and-delete). The URL (parsed by the core: `core.redis_url`) and its password are
-- never logged. `rediss://` does the TLS handshake with verification (nginx's
-- `lua_ssl_trusted_certificate`).
-- @module zlock.ngx.redis_store
local ngx = ngx
local core = require "zlock.core"

local M = {}

local LOAD = "return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}"
local UNLOCK = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end"

local R = {}
R.__index = R

--- Checks a redis_url (before any request).
-- @treturn table|nil the parsed URL, or nil and a message
function M.check(url)
  return core.redis_url(url)
end

--- A store for one client.
-- @tparam string url `redis://[user:pass@]host[:port][/db]`
-- @tparam string key the client's `token_store_key()`
-- @tparam table opts `connect_timeout_ms`, `timeout_ms`, `pool_size`, `keepalive_ms`
function M.new(url, key, opts)
  local u, err = core.redis_url(url)
  if not u then return nil, err end
  return setmetatable({ u = u, tkey = "zlock:token:" .. key, lkey = "zlock:lock:" .. key,
    val = ("%d-%s-%d"):format(ngx.worker.pid(), tostring(ngx.now()), math.random(1, 2 ^ 30)),
    opts = opts or {}, where = u.host .. ":" .. u.port }, R)
end

local function encode(args)
  local out = { "*", #args, "\r\n" }
  for _, a in ipairs(args) do
    a = tostring(a)
    out[#out + 1] = "$" .. #a .. "\r\n" .. a .. "\r\n"
  end
  return table.concat(out)
end

-- One reply: value, or nil and an error (a Redis error reply: "redis: ...").
local function read_reply(sock)
  local line, err = sock:receive("*l")
  if not line then return nil, err end
  local t, rest = line:sub(1, 1), line:sub(2)
  if t == "+" then return rest
  elseif t == "-" then return nil, "redis: " .. rest
  elseif t == ":" then return tonumber(rest)
  elseif t == "$" then
    local n = tonumber(rest)
    if not n or n < 0 then return ngx.null end
    local data, e = sock:receive(n + 2)
    if not data then return nil, e end
    return data:sub(1, n)
  elseif t == "*" then
    local n = tonumber(rest)
    if not n or n < 0 then return ngx.null end
    local arr = {}
    for i = 1, n do
      local v, e = read_reply(sock)
      if v == nil then return nil, e end
      arr[i] = v
    end
    return arr
  end
  return nil, "bad reply"
end

-- A pooled connection, and the commands a new one needs first (TLS handshake done; AUTH,
-- SELECT to send). nil and a message when it cannot be had.
function R:connect()
  local sock = ngx.socket.tcp()
  local o, u = self.opts, self.u
  sock:settimeouts(o.connect_timeout_ms or 10000, o.timeout_ms or 30000, o.timeout_ms or 30000)
  local ok, err = sock:connect(u.host, u.port, { pool = ("zlock-redis:%s:%d:%d"):format(u.host, u.port, u.db) })
  if not ok then return nil, "cannot connect to " .. self.where .. ": " .. tostring(err) end
  local setup = {}
  if sock:getreusedtimes() > 0 then return sock, setup end
  if u.tls then   -- rediss://: verified (lua_ssl_trusted_certificate)
    local _, herr = sock:sslhandshake(nil, u.host, true)
    if herr then sock:close(); return nil, "TLS handshake with " .. self.where .. " failed: " .. tostring(herr) end
  end
  if u.password then setup[#setup + 1] = encode(u.user and { "AUTH", u.user, u.password } or { "AUTH", u.password }) end
  if u.db ~= 0 then setup[#setup + 1] = encode{ "SELECT", u.db } end
  return sock, setup
end

-- Sends one command on a pooled connection (AUTH and SELECT on a new one).
function R:cmd(...)
  local sock, req = self:connect()
  if not sock then return nil, req end
  local n_setup = #req
  req[#req + 1] = encode{ ... }
  local _, serr = sock:send(table.concat(req))
  if serr then sock:close(); return nil, self.where .. ": " .. serr end
  for _ = 1, n_setup do
    local v, e = read_reply(sock)
    if v == nil then
      sock:close()
      local why = e and e:find("^redis:") and " refused the URL's credentials or database" or (": " .. tostring(e))
      return nil, self.where .. why
    end
  end
  local v, e = read_reply(sock)
  if v == nil and e and not e:find("^redis:") then sock:close(); return nil, self.where .. ": " .. e end
  sock:setkeepalive(self.opts.keepalive_ms or 30000, self.opts.pool_size)
  if v == nil then return nil, self.where .. " answered " .. e end
  return v
end

function R:load()
  local v, err = self:cmd("EVAL", LOAD, 1, self.tkey)
  if v == nil then return nil, nil, nil, err end
  if type(v) ~= "table" or type(v[1]) ~= "string" or type(v[2]) ~= "number" or v[2] <= 0 then return nil end
  local api, tok = v[1]:match("^([^\n]*)\n(.+)$")
  if not tok then return nil end
  return tok, ngx.now() + v[2] / 1000, api   -- the expiry on Redis's clock
end

function R:save(tok, exp, api)
  local ms = exp and exp > 0 and math.floor((exp - ngx.now()) * 1000) or 3600000
  if ms < 1000 then return true end
  local v, err = self:cmd("SET", self.tkey, (api or "") .. "\n" .. tok, "PX", ms)
  if v == nil then return nil, err end
  return true
end

function R:lock(ttl)
  local v, err = self:cmd("SET", self.lkey, self.val, "NX", "PX", math.floor(ttl * 1000))
  if v == nil then return nil, err end
  return v == "OK"
end

function R:unlock()
  self:cmd("EVAL", UNLOCK, 1, self.lkey, self.val)   -- a failure: the lock expires by itself
end

return M
