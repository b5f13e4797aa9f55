--- Runs conformance items through one engine, in any host (Lua 5.4 here, LuaJIT inside nginx
-- in spec/openresty/conformance_spec.lua): no busted, plain `error` on a broken contract.
-- (Not a spec: no `_spec` suffix.)
local cjson = require "cjson"

local M = {}

-- The engines by the name their stats give.
M.ENGINES = {
  multi = function(c, o) return require("zlock.engine_multi").new(c, o) end,
  sequential = function(c) return require("zlock.engine_seq").new(c) end,
  ngx = function(c, o) return require("zlock.ngx.engine").new(c, o) end,
}

-- A result as plain data (what crosses a JSON boundary unchanged).
local function plain(v)
  if v == nil then return nil end
  return cjson.decode(cjson.encode(v))
end
M.plain = plain

-- An error's fields as plain data.
local function plain_err(e)
  if e == nil then return nil end
  if type(e) ~= "table" then return { message = tostring(e) } end
  return { code = e.code, message = e.message, http_status = e.http_status, retryable = e.retryable }
end

-- Items submitted by table identity: the same table must come back once.
local function engine_run(eng, items, deadline)
  local out, seen, i = {}, {}, 1
  while i <= #items or eng:inflight() > 0 do
    if os.time() > deadline then error("engine did not finish") end
    while i <= #items and eng:submit(items[i]) do i = i + 1 end
    for _, d in ipairs(eng:poll(0.05)) do
      local key = d.item.key
      if seen[d.item] then error("item returned twice: " .. tostring(key)) end
      seen[d.item] = true
      if d.result == nil and d.err == nil then error("item with neither result nor error: " .. tostring(key)) end
      out[key] = { outcome = d.outcome, result = plain(d.result), err = plain_err(d.err) }
    end
  end
  for _, it in ipairs(items) do
    if not seen[it] then error("item never returned: " .. tostring(it.key)) end
  end
  return out
end

-- The same items through the bulk runner on that engine (outcomes, halting).
local function runner_run(c, eng, items)
  local out = {}
  local run = c:bulk{ engine = eng, on_result = function(item, result, err)
    if out[item.key] then error("item returned twice: " .. tostring(item.key)) end
    out[item.key] = { outcome = item.outcome, result = plain(result), err = plain_err(err) }
  end }
  for _, it in ipairs(items) do
    local extra = { key = it.key }
    if it.op == "lock" then run:lock(it.module, it.record_id, it.reason, extra)
    elseif it.op == "update" then run:update(it.module, it.record_id, it.lock_id, it.reason, extra)
    elseif it.op == "unlock" then run:unlock(it.module, it.record_id, it.lock_id, extra)
    else run:get(it.module, it.record_id, it.lock_id, extra) end
  end
  local sum = run:finish()
  for _, it in ipairs(items) do
    if not out[it.key] then error("item never returned: " .. tostring(it.key)) end
  end
  return out, { halted = plain_err(sum.halted), failed = sum.failed, counts = sum.counts }
end

--- Runs `items` (each with a unique `key`) through a new engine of `name` on client `c`.
-- @tparam table job `engine` (name), `engine_opts`, `items`, `runner` (true: through `c:bulk`)
-- @treturn table `{ results = {[key] = {result=, err=, outcome=}}, stats = {...}, summary = }`
function M.run(c, job)
  local make = assert(M.ENGINES[job.engine], "unknown engine " .. tostring(job.engine))
  local eng = assert(make(c, job.engine_opts or {}))
  local deadline = os.time() + (job.timeout or 120)
  local results, summary
  if job.runner then
    results, summary = runner_run(c, eng, job.items)
  else
    results = engine_run(eng, job.items, deadline)
  end
  local st = eng:stats()
  eng:close()
  return { results = results, stats = { engine = st.engine }, summary = summary }
end

return M
