--- The concurrent bulk engine: the C engine (`zlock.core` engine, libcurl multi, adaptive
-- concurrency) behind the engine interface of `zlock.bulk` (see its LDoc).
--
--     local eng = assert(c:bulk_engine{ concurrency = 10 })   -- or engine_multi.new(c, opts)
--     eng:submit{ op = "lock", module = "Deals", record_id = id, reason = "r" }
--     for _, done in ipairs(eng:poll(0.1)) do ... done.item, done.result, done.err ... end
--     eng:stats()  -- concurrency (current window), max, retries, throttled, max_inflight, ...
--     eng:close()
--
-- Many items are in flight at once on one client (one libcurl multi handle, keep-alive
-- connections reused, HTTP/2 multiplexed over TLS when offered). The number of API requests in
-- flight adapts: it starts at min(concurrency, 4), grows while replies come back, cuts to 70% on a
-- 429 TOO_MANY_REQUESTS (once per overshoot) and grows back slowly, so it settles just under the
-- org's limit without being told it. Retries, the single-flight token refresh (shared by every
-- item in flight) and lock reconciliation are the core's, as in the blocking calls; a call that
-- met a 429 and runs out of attempts (whatever its last retryable error: a lost reply after five
-- 429s) is started again while the item is younger than `throttle_budget` seconds (default
-- 300): throttling slows a run down instead of failing it.
-- Results and errors are exactly those of `c:lock`, `c:update`, `c:unlock`, `c:get`. The
-- client's `on_retry` hook is not called (no Lua runs inside the engine's I/O).
-- @module zlock.engine_multi
local core = require "zlock.core"
local errors = require "zlock.error"

local M = {}

local Engine = {}
Engine.__index = Engine

-- The lock an unlock without lock id removes: the record's manual lock, else the first one
-- (an automatic lock: Zoho then answers why it cannot go). Same rule as `c:unlock`.
local function pick_lock(locks)
  for _, l in ipairs(locks) do
    if l.Lock_Source__s == "Manual" then return l end
  end
  return locks[1]
end

local KIND = { lock = "lock", update = "update" }

-- The core call an item asks for, or nil (unknown op).
local function kind_of(item)
  local op = item.op
  if op == "unlock" then return item.lock_id and "unlock" or "list" end
  if op == "get" then return item.lock_id and "get_one" or "list" end
  return KIND[op]
end

-- The tag of an unlock's second step (the DELETE of the lock its list found); an item is its own
-- tag otherwise (one table less per item). A private key: no item field can look like it.
local SECOND = {}

--- Creates an engine on a client.
-- @param client a zlock client using the libcurl transport
-- @tparam[opt] table opts `concurrency` (max API requests in flight; default: the core's), `initial`
--  (starting window, default min(concurrency, 4)), `decrease` (window factor on a 429, default
--  0.7), `probe` (windows of replies per +1 at the known limit, default 8), `capacity` (items
--  accepted at once; default 2 * window + 8), `throttle_budget` / `throttle_pause` (seconds),
--  `threads` (I/O threads; default 0: two on a machine with more than one CPU, else one),
--  `lean` (true: a lock / update / unlock result is only `{id=, reconciled=}`, its reply body
--  left undecoded; the bulk runner asks for it when no `on_result` will see the results)
-- @return the engine, or nil and an error
function M.new(client, opts)
  opts = opts or {}
  if type(core.engine) ~= "function" then return nil, "this zlock.core has no bulk engine" end
  if type(client) ~= "table" or not client._core or type(client._convert) ~= "function" then
    return nil, "a zlock client is required"
  end
  local copts = {}
  for _, k in ipairs{ "concurrency", "initial", "decrease", "probe", "capacity",
                      "throttle_budget", "throttle_pause", "threads", "lean" } do
    copts[k] = opts[k]
  end
  local ce, err = core.engine(client._core, copts)
  if not ce then return nil, errors.new(err) end
  return setmetatable({ c = ce, convert = client._convert, ready = {},
                        again = {}, closed = false }, Engine)
end

--- Accepts an item (see `zlock.bulk`: `{op=, module=, record_id=, lock_id=, reason=}`).
-- @tparam table item
-- @treturn boolean true when accepted, false when full (poll first)
-- @treturn[opt] boolean after true: false when a `poll(0)` now would return nothing
function Engine:submit(item)
  if self.closed then error("engine is closed", 2) end
  local kind = kind_of(item)
  if not kind then
    self.ready[#self.ready + 1] = { item = item, err = errors.new{ code = "INVALID_ARGUMENT",
      message = "unknown op " .. tostring(item.op) } }
    return true
  end
  return self.c:submit(item, kind, item.module, item.record_id, item.lock_id, item.reason)
end

-- Turns one finished C entry `{tag=, result=|err=}` into `{item=, result=|err=}` (in place), or
-- starts the second call of an unlock without lock id (returns nil then).
function Engine:_finish(r)
  local tag = r.tag
  local item, kind
  if tag[SECOND] then item, kind = tag.item, "unlock" else item = tag end
  r.tag, r.item = nil, item
  if r.err then
    r.err = errors.new(r.err)
    return r
  end
  if r.result.body == nil then
    -- a lean engine's lock / update / unlock result: the binding made it {id=, reconciled=}
    -- (the core has classified the reply already: a success carries its lock id); every
    -- other result carries the reply body to decode
    return r
  end
  kind = kind or kind_of(item)
  local res, err = self.convert(kind, r.result)   -- a list gives (locks, info): info is no error
  r.result = res
  if res == nil then
    r.err = err
    return r
  end
  if item.op == "unlock" and kind == "list" then
    local pick = pick_lock(res)
    if not pick then
      r.result, r.err = nil, errors.new{ code = "NOT_LOCKED", message = "record " .. item.record_id .. " has no lock" }
      return r
    end
    local second = { [SECOND] = true, item = item, lock_id = pick.id }
    if not self.c:submit(second, "unlock", item.module, item.record_id, pick.id) then
      self.again[#self.again + 1] = second   -- the window shrank meanwhile: next poll
    end
    return nil
  end
  return r
end

--- Drives I/O for up to `timeout_s` seconds, returning early when something finished.
-- @tparam[opt] number timeout_s default 0 (one non-blocking pass)
-- @treturn table array of `{item=, result=, err=}`
function Engine:poll(timeout_s)
  if self.closed then error("engine is closed", 2) end
  if #self.again > 0 then
    local again = self.again
    self.again = {}
    for _, second in ipairs(again) do
      local item = second.item
      if not self.c:submit(second, "unlock", item.module, item.record_id, second.lock_id) then
        self.again[#self.again + 1] = second
      end
    end
  end
  local ready = self.ready
  local ms = (#ready == 0 and timeout_s and timeout_s > 0) and timeout_s * 1000 or 0
  local out = self.c:poll(ms)          -- a fresh array: converted in place, compacted
  local n, j = #out, 0
  for i = 1, n do
    local done = self:_finish(out[i])
    if done then
      j = j + 1
      out[j] = done
    end
  end
  for i = n, j + 1, -1 do out[i] = nil end
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
  return self.c:inflight() + #self.ready + #self.again
end

--- Counters: `concurrency` (current window), `max` (configured), `retries`, `throttled` (429s),
-- `max_inflight`, `limit_estimate`, `cuts`, `restarts`, `requests`, `token_requests`,
-- `connects`, `finished`, `engine = "multi"`.
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
  self.ready, self.again = {}, {}
end

Engine.__close = Engine.close

return M
