--- The Redis token store for Lua transports (a store of `zlock.token_store`): the same entries
-- as the C core's Redis store, so nginx workers, HAProxy threads, cqueues servers, CLI processes
-- and libcurl clients on one Redis share one access token. Each host binds it to its own
-- non-blocking sockets (`zlock.ngx.redis_store`, `zlock.haproxy_token`, `zlock.cqueues_redis`)
-- through `zlock.redis_client`.
--
-- Entries (per `client:token_store_key()`, a SHA-256 of accounts domain, client id and refresh
-- token): `zlock:token:<key>` = `"<api_domain>\n<access token>"` expiring with the token (PX),
-- read with its PTTL (Redis's clock); `zlock:lock:<key>` = the refresh lock (SET NX PX, released
-- by compare-and-delete). The URL and its password are never logged.
-- @module zlock.redis_store
local core = require "zlock.core"
local redis_client = require "zlock.redis_client"

local M = {}

local LOAD = "return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}"
local UNLOCK = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end"

local R = {}
R.__index = R

--- Checks a redis_url (before any request).
-- @tparam string url
-- @treturn table|nil the parsed URL (`core.redis_url`), or nil and a message (never the password)
function M.check(url)
  return core.redis_url(url)
end

--- A store for one client.
-- @param url `redis[s]://[user:pass@]host[:port][/db]`, or that URL parsed (`M.check`)
-- @tparam string key the client's `token_store_key()`
-- @tparam table host `connect`, `done` (the socket factory of `zlock.redis_client.new`),
--   `now()` (seconds, fractional), `id` (this process's lock value: unique among holders)
-- @return the store, or nil and a message
function M.new(url, key, host)
  local u, err = url, nil
  if type(url) ~= "table" then u, err = core.redis_url(url) end
  if not u then return nil, err end
  return setmetatable({ redis = redis_client.new(u, host), now = host.now, val = host.id,
    tkey = "zlock:token:" .. key, lkey = "zlock:lock:" .. key }, R)
end

--- The stored token: token, expires_at (Unix s, on Redis's clock), api_domain; nil when none;
-- `nil, nil, nil, err` when Redis failed.
function R:load()
  local v, err = self.redis:cmd("EVAL", LOAD, 1, self.tkey)
  if v == nil then return nil, nil, nil, err end
  if type(v) ~= "table" or type(v[1]) ~= "string" or type(v[2]) ~= "number" or v[2] <= 0 then return nil end
  local api, tok = v[1]:match("^([^\n]*)\n(.+)$")
  if not tok then return nil end
  return tok, self.now() + v[2] / 1000, api
end

--- Stores a token for every holder until it expires (an hour when its expiry is unknown).
-- @treturn boolean|nil true, or nil and a message
function R:save(tok, exp, api)
  local ms = exp and exp > 0 and math.floor((exp - self.now()) * 1000) or 3600000
  if ms < 1000 then return true end
  local v, err = self.redis:cmd("SET", self.tkey, (api or "") .. "\n" .. tok, "PX", ms)
  if v == nil then return nil, err end
  return true
end

--- Takes the refresh lock for `ttl` seconds: true, false (another holds it), or nil and a message.
function R:lock(ttl)
  local v, err = self.redis:cmd("SET", self.lkey, self.val, "NX", "PX", math.floor(ttl * 1000))
  if v == nil then return nil, err end
  return v == "OK"
end

--- Releases the refresh lock if this store still holds it (a failure: it expires by itself).
function R:unlock()
  self.redis:cmd("EVAL", UNLOCK, 1, self.lkey, self.val)
end

return M
