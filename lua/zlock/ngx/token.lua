--- One access token per nginx instance: the token lives in a `lua_shared_dict`, and one
-- worker refreshes it at a time while the others wait and reuse it.
--
-- Zoho lets a refresh token mint at most 10 access tokens per 10 minutes, so N workers each
-- refreshing on their own would burn that budget N times faster. With
-- `zlock.new{ ..., shared_dict = "zlock" }` (and `lua_shared_dict zlock 1m;` in nginx.conf):
--
-- * the dict key `token` holds `"<version> <expires_at> <access token>"` in one value (set
--   atomically); `version` grows by one per stored token (`incr` on `token_version`);
-- * before each call, a token version this worker has not installed yet is installed
--   (`client:set_token`): another worker refreshed it;
-- * when the core asks for a refresh (a SEND step with `token_request`), the transport first
--   looks at the dict: a fresh token other than the one being replaced (the expiring one, the
--   one a 401 rejected) was refreshed by another worker, so it is fed to the call
--   (`call:feed_token`) and no request is made;
-- * otherwise the worker takes the refresh lock, `dict:add("refresh_lock", pid, ttl)` (add
--   fails when the key exists: exactly one worker wins; the expiry frees the lock if that
--   worker dies), performs the refresh, stores the new token and deletes the lock;
-- * the others poll the dict (`ngx.sleep`, 20 ms) until the version moves (then use the new
--   token) or the lock vanishes without a new token (the refresh failed: they try themselves,
--   so errors reach the caller through the core's own retry rules).
--
-- Inside one worker the core already keeps one refresh in flight per client (other calls get
-- `wait_token` steps), so the dict sees at most one refresher per worker.
-- The token is never logged; only the dict holds it.
-- @module zlock.ngx.token
local ngx = ngx

local M = {}

local POLL_S = 0.02

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

--- The stored token: version, token, expires_at (nil when there is none).
-- @treturn number version
-- @treturn string token
-- @treturn number expires_at (Unix seconds, 0 = unknown)
function Shared:read()
  local v = self.dict:get("token")
  if not v then return nil end
  local ver, exp, tok = v:match("^(%d+) (%S+) (.+)$")
  if not ver then return nil end
  return tonumber(ver), tok, tonumber(exp) or 0
end

local function fresh(exp)
  return exp == 0 or exp > ngx.now() + 1
end

--- Installs a token another worker stored, if this client has not seen it yet.
-- Called before every call (cheap: one dict read).
-- @param core the C client (`zlock.core` client userdata)
function Shared:install(core)
  local ver, tok, exp = self:read()
  if ver and ver ~= self.seen and fresh(exp) then
    core:set_token(tok, exp)
    self.seen, self.last = ver, tok
  end
end

--- Stores the client's current token for every worker.
-- @param core the C client
-- @treturn boolean true when a token was stored
function Shared:publish(core)
  local tok, exp = core:token()
  if not tok then return false end
  local ver = self.dict:incr("token_version", 1, 0)
  local ok = self.dict:set("token", string.format("%d %.3f %s", ver, exp or 0, tok))
  if ok then self.seen, self.last = ver, tok end
  return ok
end

--- Satisfies a token-request step: reuses a token another worker refreshed, or refreshes
-- (one worker at a time) with `send(step)`.
-- "Another token" means one that differs from the token the client held when the core asked
-- (an expiring one, one that got a 401, or none): other calls of this worker may install a
-- newer one meanwhile (`install`), so the comparison is by token, not by this worker's version.
-- @param call the core call
-- @tparam table step the SEND step (`token_request` true)
-- @param core the C client
-- @tparam function send `send(step)` -> status, body, errcode (the transport's)
-- @treturn string `"shared"` (fed from the dict) or `"refreshed"` (this worker asked Zoho)
function Shared:refresh(call, step, core, send)
  local dict = self.dict
  -- the token this refresh replaces: the client's (expiring) one; after a 401 the core reports
  -- none, so the last one this worker knew (nil: it never had one)
  local stale = core:token() or self.last
  local function usable()
    local ver, tok, exp = self:read()
    if tok and tok ~= stale and fresh(exp) then
      self.seen, self.last = ver, tok
      call:feed_token(tok, exp)
      return true
    end
    return false
  end
  local deadline = ngx.now() + self.lock_ttl
  while true do
    if usable() then return "shared" end
    if dict:add("refresh_lock", tostring(ngx.worker.pid()), self.lock_ttl) then
      -- another worker may have stored a token between our read and our add: look again
      if usable() then
        dict:delete("refresh_lock")
        return "shared"
      end
      local ok, status, body, e = pcall(send, step)
      if not ok then
        dict:delete("refresh_lock")
        error(status, 0)
      end
      call:feed(status, body, e)
      local now_tok = core:token()
      if now_tok and now_tok ~= stale then self:publish(core) end
      dict:delete("refresh_lock")
      return "refreshed"
    end
    -- another worker refreshes: wait for its token (or for its lock to go away)
    repeat
      ngx.sleep(POLL_S)
      local _, tok = self:read()
      if tok and tok ~= stale then break end
    until not dict:get("refresh_lock") or ngx.now() > deadline
    if ngx.now() > deadline then
      -- the refresher is stuck or gone and its lock outlived the wait: refresh ourselves
      dict:delete("refresh_lock")
      deadline = ngx.now() + self.lock_ttl
    end
  end
end

return M
