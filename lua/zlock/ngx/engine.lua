--- A bulk engine for nginx: items run in light threads (`ngx.thread.spawn`), at most
-- `concurrency` at a time, each one a blocking-looking client call that really yields on
-- cosockets. It implements the engine contract of `zlock.engine`, so
--
--     ngx.timer.at(0, function(premature)
--       if premature then return end
--       local run = client:bulk{ concurrency = 5 }     -- picks this engine inside nginx
--       for _, id in ipairs(ids) do run:lock("Deals", id, "quarter closed") end
--       local summary = run:finish()
--     end)
--
-- works in a timer (or a content handler) without blocking the worker. Outcomes, results,
-- errors, retries, the token refresh and lock reconciliation are the core's, as for the
-- client's own calls.
-- The threads belong to the coroutine that submits and polls (the runner's): call `finish()`
-- from that same timer or request.
-- @module zlock.ngx.engine
local ngx = ngx
local perform = require("zlock.engine_seq").perform

local M = {}

local Engine = {}
Engine.__index = Engine

local function new_sema()
  local ok, sema = pcall(require, "ngx.semaphore")
  if ok and sema then return sema.new(0) end
  return nil
end

--- Creates an engine.
-- @param client a zlock client (its transport must be the nginx one)
-- @tparam[opt] table opts `concurrency` (default: `zlock.options`)
-- @return engine
function M.new(client, opts)
  local conc = opts and opts.concurrency or require("zlock.options").default("bulk", "concurrency")
  return setmetatable({
    client = client, max = conc, running = 0, threads = {}, done = {}, sema = new_sema(),
    n = 0, peak = 0, closed = false,
  }, Engine)
end

local function worker(self, item)
  local outcome, res, err = perform(self.client, item)
  self.running = self.running - 1
  self.threads[item] = false
  if self.closed then return end
  self.done[#self.done + 1] = { item = item, outcome = outcome, result = res, err = err }
  if self.sema then self.sema:post(1) end
end

--- Starts an item in a light thread, unless `concurrency` items are already running.
-- @tparam table item `{op=, module=, record_id=, lock_id=, reason=, key=}`
-- @treturn boolean true when started, false when full
function Engine:submit(item)
  if self.closed then error("engine is closed", 2) end
  if self.running >= self.max then return false end
  self.running = self.running + 1
  if self.running > self.peak then self.peak = self.running end
  local th, err = ngx.thread.spawn(worker, self, item)
  if not th then
    self.running = self.running - 1
    error("ngx.thread.spawn failed: " .. tostring(err), 2)
  end
  -- the thread runs until its first yield: it may already be over (threads[item] == false)
  if self.threads[item] == nil then self.threads[item] = th end
  return true
end

--- Waits up to `timeout_s` for finished items (yields; never blocks the worker).
-- @tparam[opt] number timeout_s seconds (default 0: just collect)
-- @treturn table array of `{item=, outcome=, result=, err=}`
function Engine:poll(timeout_s)
  if #self.done == 0 and self.running > 0 and (timeout_s or 0) > 0 then
    if self.sema then
      self.sema:wait(timeout_s)
    else
      local deadline = ngx.now() + timeout_s
      repeat ngx.sleep(0.01) until #self.done > 0 or ngx.now() >= deadline
    end
  end
  local out = self.done
  self.done = {}
  for _, r in ipairs(out) do self.threads[r.item] = nil end
  if self.sema and #out > 0 then
    -- drain the posts belonging to the items handed out now (wait(0) does not yield)
    for _ = 1, self.sema:count() do self.sema:wait(0) end
  end
  self.n = self.n + #out
  return out
end

--- Items submitted and not yet returned by `poll`.
-- @treturn integer
function Engine:inflight()
  return self.running + #self.done
end

--- Counters (`retries`/`throttled` happen inside the client's calls and are not counted here).
-- @treturn table `{concurrency=, max=, peak=, retries=0, throttled=0, done=, engine="ngx"}`
function Engine:stats()
  return { concurrency = self.max, max = self.max, peak = self.peak, retries = 0, throttled = 0,
           done = self.n, engine = "ngx" }
end

--- Closes the engine: threads still running are killed (their items are abandoned). Idempotent.
function Engine:close()
  if self.closed then return end
  self.closed = true
  for _, th in pairs(self.threads) do
    if th then ngx.thread.kill(th) end
  end
  self.threads = {}
  self.done = {}
end

return M
