--- The sequential bulk engine: one item at a time over the client's blocking calls.
--
-- Correct everywhere (every Lua, every client, no libcurl multi needed): the fallback the bulk
-- runner uses when the C core offers no concurrent engine. It keeps the engine contract of
-- `zlock.engine` exactly; the retry, token refresh, lock reconciliation rules and the outcomes
-- are the core's, as for the client's own `get`/`lock`/`update`/`unlock`.
-- @module zlock.engine_seq
local zerror = require "zlock.error"

local M = {}

local Engine = {}
Engine.__index = Engine

--- Creates a sequential engine on a client.
-- @param client a zlock client (anything with the client's `_perform`)
-- @return engine
function M.new(client)
  return setmetatable({ client = client, queue = nil, n = 0, closed = false }, Engine)
end

--- Accepts an item when nothing is pending.
-- @tparam table item `{op=, module=, record_id=, lock_id=, reason=}`
-- @treturn boolean true when accepted, false when full (poll first)
function Engine:submit(item)
  if self.closed then error("engine is closed", 2) end
  if self.queue then return false end
  self.queue = item
  return true
end

--- Runs one engine item with the client's own (blocking-looking) call, as every Lua-side
-- engine does (this one, and nginx's light-thread engine).
-- A bad argument the client raises (`bad argument #n to ...`) becomes the item's
-- INVALID_ARGUMENT error, so one bad item never stops a run; any other raised error is a bug
-- and propagates.
-- @param client a zlock client
-- @tparam table item `{op=, module=, record_id=, lock_id=, reason=, rerun=}`
-- @return outcome (the core's), result (or nil), err (or nil)
function M.perform(client, item)
  local ok, outcome, res, err = pcall(client._perform, client, item)
  if not ok then
    if type(outcome) == "string" and outcome:find("bad argument #%d+ to '") then
      return "failed", nil, zerror.new{ code = "INVALID_ARGUMENT", message = outcome }
    end
    error(outcome, 0)
  end
  return outcome, res, err
end

--- Runs the pending item (blocking) and returns it as finished.
-- @tparam[opt] number timeout_s ignored (a blocking call runs to its end)
-- @treturn table array of `{item=, outcome=, result=, err=}` (empty when nothing was pending)
function Engine:poll(timeout_s) -- luacheck: no unused args
  local item = self.queue
  if not item then return {} end
  self.queue = nil
  local outcome, res, err = M.perform(self.client, item)
  self.n = self.n + 1
  return { { item = item, outcome = outcome, result = res, err = err } }
end

--- Items in flight (0 or 1).
-- @treturn integer
function Engine:inflight()
  return self.queue and 1 or 0
end

--- Counters: `{concurrency=1, max=1, retries=0, throttled=0}` (retries happen inside the client).
-- @treturn table
function Engine:stats()
  return { concurrency = 1, max = 1, retries = 0, throttled = 0, done = self.n, engine = "sequential" }
end

--- Closes the engine (the client stays open). Idempotent.
function Engine:close()
  self.closed = true
  self.queue = nil
end

return M
