--- Drivers: how a client runs one core call to its end, with libcurl in C (the call's own
-- blocking loop) or with a transport written in Lua (nginx, HAProxy, cqueues, the caller's),
-- around it the client's hooks (on_retry, logging) and, for Lua transports, the fleet budget's
-- slots (`zlock.budget`). Internal to `zlock.client`.
-- @module zlock.drive
local core = require "zlock.core"
local errors = require "zlock.error"
local logmod = require "zlock.log"
local proxymod = require "zlock.proxy"
local budgetmod = require "zlock.budget"

local M = {}

-- Reports one observed exchange to the client's logger (zlock.log): `x` is the request or
-- response table of call:run(true) or of a Lua transport; `seen` counts the call's attempts.
local function observe(log, info, x, seen)
  local e = {}
  for k, v in pairs(info) do e[k] = v end
  if x.kind == "request" then
    seen.path = logmod.path(x.url, x.token_request)
    seen.method, seen.token = x.method, x.token_request
    if not x.token_request then seen.attempt = seen.attempt + 1 end
  end
  e.method, e.path = seen.method, seen.path
  e.attempt = seen.token and "token" or seen.attempt
  if x.kind == "request" then return log.request(e) end
  e.status, e.ms, e.error, e.request_id = x.status or 0, x.ms, x.error, x.request_id
  log.response(e)
end

-- Runs the on_retry hook (if any) before a backoff; false when it stopped the retries.
local function retry_hook(self, call, info, attempt, ms, err)
  local hook = self._on_retry
  if hook then
    info.attempt, info.delay, info.error = attempt, ms / 1000, errors.new(err)
    if hook(info) == false then
      call:cancel("CANCELLED", "on_retry hook stopped the retries")
      return false
    end
  end
  return true
end

-- libcurl in C; returns here only between attempts (so the hook runs in plain Lua), and, when
-- the client logs, around each request.
local function drive_curl(self, call, info, w)
  local log = self._log
  local seen = { attempt = 0 }
  while true do
    if not w then w = call:run(log ~= nil) end
    if not w then break end
    if w.kind == "wait" then
      if retry_hook(self, call, info, w.attempt, w.ms, w.error) then core.sleep(w.ms) end
    else
      observe(log, info, w, seen)
    end
    w = nil
  end
end

local holders = 0
local function next_holder()
  holders = holders + 1
  return holders
end

-- The fleet budget's holder for a transport driven from Lua, when the client has a budget
-- (a Redis URL) and the transport offers Redis (`budget_redis`); false otherwise.
local function fleet(self)
  local b = self._budget
  if b ~= nil then return b end
  local conf, transport = self._core:budget(), self._transport
  local redis, id
  if conf and transport.budget_redis then
    -- the core's cap on the budget's Redis, never above the transport's own timeout
    redis, id = transport:budget_redis(math.min(budgetmod.redis_ms(), transport.timeout_ms or math.huge))
  end
  b = redis and budgetmod.new(conf, redis, {
    now = logmod.now, timeout = (transport.timeout_ms or 30000) / 1000, id = id .. ":" .. next_holder(),
    sleep = function(sec) if transport.sleep then transport:sleep(sec * 1000) else core.sleep(sec * 1000) end end,
    warn = function(msg)
      if transport.warn then transport:warn(msg) else io.stderr:write("zlock: warning: ", msg, "\n") end
    end,
  }) or false
  self._budget = b
  return b
end

local function send(self, call, s, info, seen)
  local transport, log = self._transport, self._log
  local t0
  if log then
    observe(log, info, { kind = "request", method = s.method, url = s.url, token_request = s.token_request }, seen)
    t0 = logmod.now()
  end
  if s.token_request and transport.send_token then
    transport:send_token(call, s, self._core)   -- feeds the call itself (feed or feed_token)
    if log then observe(log, info, { kind = "response", ms = math.floor((logmod.now() - t0) * 1000) }, seen) end
    return
  end
  local budget = fleet(self)
  local slot = budget and budget:take()
  local status, body, errcode, credits = transport:send(s)
  if slot then budget:give(slot, status, errcode, credits) end
  if log then
    observe(log, info, { kind = "response", status = status, error = errcode,
                         ms = math.floor((logmod.now() - t0) * 1000 + 0.5) }, seen)
  end
  call:feed(status, body, errcode, credits)
end

-- A transport driven from Lua (nginx, or the caller's own).
local function drive_transport(self, call, info)
  local transport = self._transport
  local seen = { attempt = 0 }
  if transport.prepare then transport:prepare(self._core) end
  if transport.resends then call:transport_resends() end   -- its HTTP client may re-send on its own
  while true do
    local s = call:next()
    local kind = s.kind
    if kind == "done" then break
    elseif kind == "send" then
      send(self, call, s, info, seen)
    elseif kind == "wait" then
      retry_hook(self, call, info, s.attempt, s.ms, s.error)
      if transport.sleep then transport:sleep(s.ms) else core.sleep(s.ms) end
    elseif kind == "wait_token" then
      if transport.wait_token then transport:wait_token(s) else core.sleep(5) end
    end
  end
end

--- A call's error as a zlock error; a connection failure through a proxy names the proxy.
-- @param self the client
-- @param e the core's error (table or call)
-- @treturn table the `zlock.error`
function M.failure(self, e)
  local err = errors.new(e)
  if err.code == "CONNECT" then proxymod.name_in(err, self._proxy, self._core:info().api_domain) end
  return err
end

--- Runs one core call to its end with the client's transport.
-- @param self the client
-- @param call the core call
-- @tparam table info what the hooks and logs are told (`operation`, `module`, `record_id`)
-- @tparam[opt] table w a step the libcurl driver already returned (a backoff)
-- @treturn table|nil the core result (`outcome`, `status`, `body`, `lock_id`, `reconciled`,
--   `ambiguous`, `attempts`, `error`), or nil and the error
function M.drive(self, call, info, w)
  if self._transport then drive_transport(self, call, info) else drive_curl(self, call, info, w) end
  local res, err = call:result()
  call:close()
  if not res then return nil, M.failure(self, err) end
  return res
end

return M
