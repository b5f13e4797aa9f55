--- One access token per nginx instance: a token store (`zlock.token_store`) in a
-- `lua_shared_dict`, so one worker refreshes at a time while the others wait and reuse it.
--
-- Zoho lets a refresh token mint at most 10 access tokens per 10 minutes, so N workers each
-- refreshing on their own would burn that budget N times faster. With
-- `zlock.new{ ..., shared_dict = "zlock" }` (and `lua_shared_dict zlock 1m;` in nginx.conf):
--
-- * the dict key `token` holds `"<version> <expires_at> <api_domain or -> <access token>"` in
--   one value (set atomically); `version` grows by one per stored token (`incr`);
-- * before each call, a token version this worker has not installed yet is installed
--   (`client:set_token`): another worker refreshed it;
-- * a token-request step goes through `zlock.token_store.refresh`: a fresh token other than
--   the one being replaced is fed to the call; otherwise the refresh lock,
--   `dict:add("refresh_lock", pid, ttl)` (exactly one worker wins; the expiry frees it if that
--   worker dies), the refresh, the store, the unlock; the others poll (`ngx.sleep`, 20 ms).
--
-- Inside one worker the core already keeps one refresh in flight per client (other calls get
-- `wait_token` steps), so the dict sees at most one refresher per worker.
-- The token is never logged; only the dict holds it.
-- @module zlock.ngx.token
local ngx = ngx
local token_store = require "zlock.token_store"

local M = {}

M.POLL_S = 0.02

local Shared = {}
Shared.__index = Shared

--- Wraps a shared dict.
-- @tparam string name the `lua_shared_dict` name
-- @tparam[opt] number lock_ttl seconds the refresh lock lives at most (default 30)
-- @return the token store, or nil and a message when the dict does not exist
function M.new(name, lock_ttl)
  local dict = ngx.shared and ngx.shared[name]
  if not dict then
    return nil, "no lua_shared_dict named '" .. tostring(name) .. "' (add `lua_shared_dict " ..
      tostring(name) .. " 1m;` to the http block)"
  end
  return setmetatable({ dict = dict, name = name, lock_ttl = lock_ttl or 30, seen = 0 }, Shared)
end

--- The stored entry: token, expires_at (Unix seconds, 0 = unknown), api_domain, version
-- (nil when there is none).
function Shared:entry()
  local v = self.dict:get("token")
  if not v then return nil end
  local ver, exp, api, tok = v:match("^(%d+) (%S+) (%S+) (.+)$")
  if not ver then return nil end
  return tok, tonumber(exp) or 0, api ~= "-" and api or nil, tonumber(ver)
end

--- The stored token (the store interface): token, expires_at, api_domain.
function Shared:load()
  local tok, exp, api = self:entry()
  return tok, exp, api
end

--- Stores a token for every worker.
-- @treturn boolean true when stored
function Shared:save(tok, exp, api)
  local ver = self.dict:incr("token_version", 1, 0)
  local ok, err = self.dict:set("token", string.format("%d %.3f %s %s", ver, exp or 0, api or "-", tok))
  if ok then self.seen = ver end
  return ok, err
end

--- The refresh lock (false while another worker holds it).
function Shared:lock(ttl)
  return self.dict:add("refresh_lock", tostring(ngx.worker.pid()), ttl) and true or false
end

function Shared:unlock()
  self.dict:delete("refresh_lock")
end

--- Installs a token another worker stored, if this client has not seen it yet.
-- Called before every call (cheap: one dict read).
-- @param core the C client (`zlock.core` client userdata)
function Shared:install(core)
  local tok, exp, api, ver = self:entry()
  if ver and ver ~= self.seen and (exp == 0 or exp > ngx.now() + 1) then
    if api then core:learn_api_domain(api) end
    core:set_token(tok, exp)
    self.seen, self.last = ver, tok
  end
end

--- The environment `zlock.token_store.refresh` needs, inside nginx.
-- @tparam number ttl lock lifetime (seconds)
function M.env(ttl)
  return { now = ngx.now, sleep = ngx.sleep, ttl = ttl, poll = M.POLL_S,
           warn = function(msg) ngx.log(ngx.WARN, "zlock: ", msg) end }
end

--- Satisfies a token-request step: reuses a token another worker refreshed, or refreshes
-- (one worker at a time) with `send(step)`.
-- @param call the core call
-- @tparam table step the SEND step (`token_request` true)
-- @param core the C client
-- @tparam function send `send(step)` -> status, body, errcode (the transport's)
-- @treturn string `"shared"` (fed from the dict) or `"refreshed"` (this worker asked Zoho)
function Shared:refresh(call, step, core, send)
  return token_store.refresh(self, call, step, core, send, M.env(self.lock_ttl))
end

return M
