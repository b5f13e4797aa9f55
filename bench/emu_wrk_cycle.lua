-- wrk script: lock + unlock cycles over many Deals, each thread on its own share of records.
-- Usage: wrk -t2 -c16 -d5s -s bench/emu_wrk_cycle.lua URL -- IDS_FILE TOKEN NTHREADS
--
-- wrk's response() does not say which connection (so which request) it answers, and the
-- unlock needs both the record id and the lock id, so one cycle is three Zoho calls:
--   POST   /crm/v8/Deals/{r}/Locking_Information__s            -> 201 (lock id only)
--   GET    /crm/v8/Deals/{r}/Locking_Information__s?fields=..   -> 200 (record id AND lock id)
--   DELETE /crm/v8/Deals/{r}/Locking_Information__s/{lock id}  -> 200 (lock id) -> r is free again
-- A record is listed only after every POST sent so far has been answered (so it is locked);
-- while nothing useful can be sent (all records busy), a filler GET of one lock keeps the
-- connection busy; fillers are counted apart. wrk now and then drops one request() result
-- without sending it (seen once per thread): after 500 fillers in a row with POSTs still
-- counted in flight, the pending records are listed anyway (a 204 there counts as lost).
-- wrk's entry points and the per-thread counters it reads back with thread:get are globals:
-- luacheck: globals setup init request response done wrk tid cycles locks lists fillers errors lost
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  threads[#threads + 1] = thread
end

local free, pending, ready, unlock, owner = {}, {}, {}, {}, {}
local posts_out = 0
local idle = 0
local filler_path
local LIST_FIELDS = "?fields=Locked_For__s"

function init(args)
  local ids = {}
  for line in io.lines(args[1]) do ids[#ids + 1] = line end
  local nthreads = tonumber(args[3])
  for i, id in ipairs(ids) do
    if (i - 1) % nthreads == tid then free[#free + 1] = id end
  end
  filler_path = args[4]
  wrk.headers["Authorization"] = "Zoho-oauthtoken " .. args[2]
  wrk.headers["Content-Type"] = "application/json"
  cycles, locks, lists, fillers, errors, lost = 0, 0, 0, 0, 0, 0
end

local function base(r) return "/crm/v8/Deals/" .. r .. "/Locking_Information__s" end

function request()
  if #free == 0 and #ready == 0 and #unlock == 0 and #pending > 0 then
    idle = idle + 1
    if idle > 500 then
      for _, r in ipairs(pending) do ready[#ready + 1] = r end
      pending, posts_out, idle = {}, 0, 0
    end
  else
    idle = 0
  end
  if #unlock > 0 then
    local u = table.remove(unlock)
    return wrk.format("DELETE", base(u[1]) .. "/" .. u[2])
  elseif #ready > 0 then
    return wrk.format("GET", base(table.remove(ready)) .. LIST_FIELDS)
  elseif #free > 0 then
    local r = table.remove(free, 1)
    pending[#pending + 1] = r
    posts_out = posts_out + 1
    return wrk.format("POST", base(r), nil, '{"data":[{"Locked_Reason__s":"wrk cycle"}]}')
  end
  fillers = fillers + 1
  return wrk.format("GET", filler_path)
end

function response(status, _, body)
  if status == 201 then
    locks = locks + 1
    posts_out = math.max(0, posts_out - 1)
  elseif status == 200 and body:find('"info"', 1, true) then
    lists = lists + 1
    local lf = body:match('"Locked_For__s"%s*:%s*(%b{})')
    local r = lf and lf:gsub('"module"%s*:%s*%b{}', ""):match('"id"%s*:%s*"(%d+)"')
    local rest = body:gsub('"Locked_For__s"%s*:%s*%b{}', ""):gsub('"info"%s*:%s*%b{}', "")
    local l = rest:match('"id"%s*:%s*"(%d+)"')
    if r and l then
      owner[l] = r
      unlock[#unlock + 1] = { r, l }
    else
      errors = errors + 1
    end
  elseif status == 200 and body:find('"relation removed"', 1, true) then
    local l = body:match('"id"%s*:%s*"(%d+)"')
    local r = l and owner[l]
    if r then
      owner[l] = nil
      free[#free + 1] = r
      cycles = cycles + 1
    else
      errors = errors + 1
    end
  elseif status == 204 then
    lost = lost + 1 -- listed before its lock landed: the record leaves the rotation
  elseif status ~= 200 then -- 200 here: a filler GET of one lock
    errors = errors + 1
    if status == 403 or status == 429 or status >= 500 then posts_out = math.max(0, posts_out - 1) end
  end
  if posts_out == 0 and #pending > 0 then
    for _, r in ipairs(pending) do ready[#ready + 1] = r end
    pending = {}
  end
end

function done(summary)
  local t = { cycles = 0, locks = 0, lists = 0, fillers = 0, errors = 0, lost = 0 }
  for _, th in ipairs(threads) do
    for k in pairs(t) do t[k] = t[k] + (th:get(k) or 0) end
  end
  local secs = summary.duration / 1e6
  io.write(string.format(
    "lock_unlock: %d requests in %.2f s = %.0f req/s; %d full cycles (lock+list+unlock) = %.0f cycles/s, "
      .. "%.0f lock+unlock/s; fillers %d, errors %d, lost %d, socket errors %d\n",
    summary.requests, secs, summary.requests / secs, t.cycles, t.cycles / secs, 2 * t.cycles / secs,
    t.fillers, t.errors, t.lost,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
