--- Token stores for transports written in Lua (nginx, HAProxy, cqueues): the same contract as the C core's
-- (csrc/token_store.h), so a token minted by a CLI process, a libcurl client or an nginx
-- worker is one token for all of them.
--
-- A store is a table with four methods (never holding the refresh token or client secret):
--
-- * `store:load()` -> `token, expires_at, api_domain` (nil when none), or `nil, nil, nil, err`
--   when the store failed;
-- * `store:save(token, expires_at, api_domain)` -> `true`, or `nil, err`;
-- * `store:lock(ttl)` -> `true` (taken; it frees itself after `ttl` seconds), `false` (held by
--   another), or `nil, err`;
-- * `store:unlock()`.
--
-- `refresh` is the one algorithm over it: use a token another process stored; else take the
-- lock, look once more, refresh, save for all, unlock; while another holds the lock, poll.
-- A store that fails is dropped for the transport's life with one warning; the refresh then
-- goes on without it.
-- @module zlock.token_store
local M = {}

--- Satisfies a token-request step through `store`.
-- @param store the store (above)
-- @param call the core call
-- @tparam table step the SEND step (`token_request` true)
-- @param core the C client
-- @tparam function send `send(step)` -> status, body, errcode
-- @tparam table env `now()` (seconds), `sleep(s)`, `warn(msg)`, `ttl` (lock lifetime, s),
--   `poll` (seconds between looks while another refreshes)
-- @treturn string `"shared"` (fed from the store) or `"refreshed"` (this process asked Zoho)
function M.refresh(store, call, step, core, send, env)
  -- the token this refresh replaces: the client's (expiring) one; after a 401 the core reports
  -- none, so the last one this process knew
  local stale = core:token() or store.last
  local function broken(err)
    if not store.broken then
      env.warn("token store unusable (" .. tostring(err) .. "); refreshing this client's own token from now on")
    end
    store.broken = true
  end
  local function usable()
    if store.broken then return false end
    local tok, exp, api, err = store:load()
    if err then broken(err); return false end
    if tok and tok ~= stale and (exp == 0 or exp > env.now() + 1) then
      if api and api ~= "" then core:learn_api_domain(api) end
      store.last = tok
      call:feed_token(tok, exp)
      return true
    end
    return false
  end
  local deadline = env.now() + 2 * env.ttl
  while true do
    if usable() then return "shared" end
    local got, err = false, nil
    if not store.broken then got, err = store:lock(env.ttl) end
    if got == nil then broken(err) end
    if got or store.broken or env.now() > deadline then
      if got and usable() then store:unlock(); return "shared" end   -- stored while we took the lock
      local ok, status, body, e = pcall(send, step)
      if not ok then
        if got then store:unlock() end
        error(status, 0)
      end
      call:feed(status, body, e)
      local tok, exp = core:token()
      if tok and tok ~= stale and not store.broken then
        local saved, serr = store:save(tok, exp or 0, core:info().api_domain)
        if not saved then broken(serr) end
        store.last = tok
      end
      if got and not store.broken then store:unlock() end
      return "refreshed"
    end
    env.sleep(env.poll)
  end
end

return M
