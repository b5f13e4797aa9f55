--- The C bulk engine (`zlock.core` engine: libcurl multi on the caller's thread, adaptive
-- concurrency) behind the engine contract (`zlock.engine`).
--
--     local eng = assert(c:bulk_engine{ concurrency = 10 })   -- or engine_multi.new(c, opts)
--     eng:submit{ op = "lock", module = "Deals", record_id = id, reason = "r" }
--     for _, done in ipairs(eng:poll(0.1)) do ... done.item, done.result, done.err ... end
--     eng:stats()  -- concurrency (current window), max, retries, throttled, max_inflight, ...
--     eng:close()
--
-- Many items are in flight at once on one client (one libcurl multi handle, driven inside
-- `submit` and `poll` on the caller's thread; keep-alive connections reused, HTTP/2
-- multiplexed over TLS when offered). The number of API requests in
-- flight adapts: it starts at min(concurrency, 4), grows while replies come back, cuts to 70% on a
-- 429 TOO_MANY_REQUESTS (once per overshoot) and grows back slowly, so it settles just under the
-- org's limit without being told it. Retries, the single-flight token refresh (shared by every
-- item in flight) and lock reconciliation are the core's, as in the blocking calls; a call that
-- met a 429 and runs out of attempts (whatever its last retryable error: a lost reply after five
-- 429s) is started again while the item is younger than `throttle_budget` seconds (default
-- 300): throttling slows a run down instead of failing it.
-- Outcomes are the core's; results and errors are exactly those of `c:lock`, `c:update`,
-- `c:unlock`, `c:get` (an unlock without a lock id is one core call, which lists the record's
-- locks itself). The client's `on_retry` hook is not called (no Lua runs inside the engine's I/O).
-- @module zlock.engine_multi
local core = require "zlock.core"
local errors = require "zlock.error"

local M = {}

local Engine = {}
Engine.__index = Engine

--- Creates an engine on a client.
-- @param client a zlock client using the libcurl transport
-- @tparam[opt] table opts `concurrency` (max API requests in flight; default: the core's), `initial`
--  (starting window, default min(concurrency, 4)), `decrease` (window factor on a 429, default
--  0.7), `probe` (windows of replies per +1 at the known limit, default 8), `capacity` (items
--  accepted at once; default 2 * window + 8), `throttle_budget` / `throttle_pause` (seconds),
--  `threads` (deprecated, ignored: the engine runs on the caller's thread),
--  `lean` (true: a lock / update / unlock result is only `{id=, reconciled=}`, its reply body
--  left undecoded; the bulk runner asks for it when no `on_result` will see the results)
-- @return the engine, or nil and an error
function M.new(client, opts)
  opts = opts or {}
  if type(core.engine) ~= "function" then return nil, "this zlock.core has no bulk engine" end
  if type(client) ~= "table" or type(client.engine_core) ~= "function" then
    return nil, "a zlock client is required"
  end
  local cc, settle, kind_of = client:engine_core()
  if not cc then return nil, settle end
  local copts = {}
  for _, k in ipairs{ "concurrency", "initial", "decrease", "probe", "capacity",
                      "throttle_budget", "throttle_pause", "lean" } do
    copts[k] = opts[k]
  end
  local ce, err = core.engine(cc, copts)
  if not ce then return nil, errors.new(err) end
  return setmetatable({ c = ce, settle = settle, kind_of = kind_of, ready = {}, closed = false }, Engine)
end

--- Accepts an item (see `zlock.bulk`: `{op=, module=, record_id=, lock_id=, reason=}`).
-- @tparam table item
-- @treturn boolean true when accepted, false when full (poll first)
-- @treturn[opt] boolean after true: false when no finished item waits for a `poll`
function Engine:submit(item)
  if self.closed then error("engine is closed", 2) end
  local kind = self.kind_of(item)
  if not kind then
    self.ready[#self.ready + 1] = { item = item, outcome = "failed", err = errors.new{ code = "INVALID_ARGUMENT",
      message = "unknown op " .. tostring(item.op) } }
    return true
  end
  return self.c:submit(item, kind, item.module, item.record_id, item.lock_id, item.reason, nil, item.rerun)
end

-- Turns one finished C entry `{tag=, result=|err=}` into `{item=, outcome=, result=, err=}`
-- (in place): the outcome is the core's, err the failure or the why of an `already_` outcome.
function Engine:_finish(r)
  local item, res = r.tag, r.result
  r.tag, r.item = nil, item
  if res == nil then
    r.outcome, r.err = "failed", errors.new(r.err)
    return r
  end
  if res.body == nil then
    -- a lean engine's lock / update / unlock result: the binding made it {outcome=, id=,
    -- reconciled=, error=} (the core has classified the reply already: a success carries its
    -- lock id); every other result carries the reply body to decode
    local why = res.error
    r.outcome, res.outcome, res.error = res.outcome, nil, nil
    if why then
      r.err = errors.new(why)
      if not res.id then r.result = nil end
    end
    return r
  end
  r.outcome, r.result, r.err = self.settle(self.kind_of(item), res)
  return r
end

--- Drives I/O for up to `timeout_s` seconds, returning early when something finished.
-- @tparam[opt] number timeout_s default 0 (one non-blocking pass)
-- @treturn table array of `{item=, outcome=, result=, err=}`
function Engine:poll(timeout_s)
  if self.closed then error("engine is closed", 2) end
  local ready = self.ready
  local ms = (#ready == 0 and timeout_s and timeout_s > 0) and timeout_s * 1000 or 0
  local out = self.c:poll(ms)          -- a fresh array: converted in place
  local j = #out
  for i = 1, j do self:_finish(out[i]) end
  if #ready > 0 then
    for _, d in ipairs(ready) do
      j = j + 1
      out[j] = d
    end
    self.ready = {}
  end
  return out
end

--- Items submitted and not yet returned by `poll`.
-- @treturn integer
function Engine:inflight()
  if self.closed then return 0 end
  return self.c:inflight() + #self.ready
end

--- Counters: `concurrency` (current window), `max` (configured), `retries`, `throttled` (429s),
-- `max_inflight`, `limit_estimate`, `cuts`, `restarts`, `requests`, `token_requests`,
-- `connects`, `finished`, `engine = "multi"`; the fleet budget (with a Redis URL): `fleet_source`
-- (`"given"`, `"learned"`, or `"local"`: no budget, or Redis failed), `fleet_limit`,
-- `fleet_holders`, `slot_waits` (times requests waited for the fleet's slots), `slot_wait_ms`.
-- @treturn table
function Engine:stats()
  if self.closed then return self.last_stats or { concurrency = 0, max = 0, retries = 0, throttled = 0 } end
  local s = self.c:stats()
  s.engine = "multi"
  self.last_stats = s
  return s
end

--- Closes the engine: items in flight are abandoned. Idempotent (also on garbage collection).
function Engine:close()
  if self.closed then return end
  self:stats()
  self.closed = true
  self.c:close()
  self.ready = {}
end

Engine.__close = Engine.close

return M
