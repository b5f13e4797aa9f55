--- Test helper: a fleet of `zlock run` processes on one zlock-emu, each locking its own range
-- of deals (spec/fleet/fixtures/lock_range.lua), and the figures the fleet specs read: wall
-- time, each run's `--json` summary, the emulator's 429s and in-flight peaks.
--
--   local fleet = require "helpers.fleet"
--   local e = fleet.emulator()                 -- --latency 100 --concurrency-limit 10
--   local parts = fleet.ranges(e, 900, 3)      -- { {from=, to=, ids={...}}, ... }
--   local procs = {}
--   for i, r in ipairs(parts) do procs[i] = fleet.spawn(e, r, { ZLOCK_ORG_LIMIT = "10" }) end
--   local wall = fleet.wait(procs)            -- seconds from the first start to the last exit
--   local res = fleet.result(procs[1])         -- { code=, summary=, stderr= }
local emu = require "helpers.emu"
local cjson = require "cjson.safe"
local socket = require "socket"
local S = require "bulk.support"   -- the bulk specs' shell and file helpers

local q, slurp = S.quote, S.slurp   -- slurp: "" when the file does not exist
local M = {}

M.POLICY = "spec/fleet/fixtures/lock_range.lua"
M.ZLOCK = os.getenv("ZLOCK_BIN") or "bin/zlock"
-- the budget's own settings and everything else that would point a run elsewhere
local UNSET = { "ZLOCK_REDIS_URL", "ZLOCK_ORG_LIMIT", "ZLOCK_ORG_RESERVE", "ZLOCK_ORG_BUDGET", "ZLOCK_ORG_ID",
                "ZLOCK_TOKEN_STORE", "ZLOCK_LOG", "ZLOCK_PROFILE", "ZOHO_REFRESH_TOKEN", "ZOHO_CLIENT_ID",
                "ZOHO_CLIENT_SECRET", "ZOHO_DC", "ZOHO_ENV", "ZOHO_ACCOUNTS_DOMAIN", "XDG_CACHE_HOME" }

--- Starts zlock-emu with 1,000 deals (18 of them locked by the demo org's rules), each call
-- taking `latency` ms (default 100) and at most `limit` (default 10) in flight: the ceiling is
-- `limit` calls every `latency` ms (100/s). `extra`: more command-line arguments.
function M.emulator(latency, limit, extra)
  local args = { "--seed", "demo", "--records", "Deals=1000", "--latency", tostring(latency or 100),
                 "--concurrency-limit", tostring(limit or 10) }
  for _, a in ipairs(extra or {}) do args[#args + 1] = a end
  return emu.start(args)
end

--- The first `n` unlocked deals (by id) split into `parts` disjoint ranges of equal size:
-- a list of `{from=, to=, ids={...}}`. Raises when the org has fewer than `n`.
function M.ranges(e, n, parts)
  local ids = {}
  for id, locked in pairs(e:state().records.Deals) do
    if locked ~= true then ids[#ids + 1] = id end
  end
  table.sort(ids)
  assert(#ids >= n, ("only %d unlocked deals, %d wanted"):format(#ids, n))
  local out, per = {}, math.floor(n / parts)
  for p = 1, parts do
    local r = { ids = {} }
    for i = (p - 1) * per + 1, p == parts and n or p * per do r.ids[#r.ids + 1] = ids[i] end
    r.from, r.to = r.ids[1], r.ids[#r.ids]
    out[p] = r
  end
  return out
end

--- Starts `zlock --json run` of the range policy on range `r` against emulator `e`, in the
-- background. `env`: extra environment (`ZLOCK_REDIS_URL`, `ZLOCK_ORG_LIMIT`, ...); the
-- budget's variables are unset otherwise. `journal`: a journal file, or nil.
-- Returns `{pid=, t0=}` (pid: the zlock process itself, for `kill -9`).
function M.spawn(e, r, env, journal)
  local dir = S.tmpdir()
  local parts = { "exec env" }
  for _, k in ipairs(UNSET) do parts[#parts + 1] = "-u " .. k end
  parts[#parts + 1] = "ZOHO_API_DOMAIN=" .. q(e.url)
  parts[#parts + 1] = "ZOHO_ACCESS_TOKEN=" .. q(emu.ACCESS_TOKEN)
  local keys = {}
  for k in pairs(env or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. q(env[k]) end
  for _, a in ipairs{ M.ZLOCK, "--json", "run", M.POLICY, "--no-progress", "--param", "from=" .. r.from,
                      "--param", "to=" .. r.to } do
    parts[#parts + 1] = q(a)
  end
  if journal then parts[#parts + 1] = "--journal " .. q(journal) end
  local run = table.concat(parts, " ") .. " >" .. q(dir .. "/out") .. " 2>" .. q(dir .. "/err") .. " </dev/null"
  -- the subshell execs zlock, so $! is zlock's pid; the outer shell records its exit status
  local sh = ("(%s) & echo $! >%s; wait $!; echo $? >%s; mv %s %s"):format(run, q(dir .. "/pid"),
    q(dir .. "/rc.tmp"), q(dir .. "/rc.tmp"), q(dir .. "/rc"))
  local t0 = socket.gettime()
  assert(os.execute("sh -c " .. q(sh) .. " >/dev/null 2>&1 &"))
  local pid
  for _ = 1, 500 do
    pid = tonumber(slurp(dir .. "/pid"))
    if pid then break end
    socket.sleep(0.01)
  end
  assert(pid, "zlock run did not start")
  return { pid = pid, dir = dir, t0 = t0, range = r }
end

--- Whether process `p` (from `spawn`) has exited; sets `p.code` and `p.t1` when it has.
function M.done(p)
  if p.code then return true end
  local rc = slurp(p.dir .. "/rc")
  if rc == "" then return false end
  p.code, p.t1 = tonumber(rc:match("%d+")), socket.gettime()
  return true
end

--- Waits for every process of `procs` (at most `timeout` seconds, default 120; then raises),
-- calling `tick()` about every 50 ms meanwhile. Returns the wall time: from the first start to
-- the last exit.
function M.wait(procs, timeout, tick)
  local deadline = socket.gettime() + (timeout or 120)
  while true do
    local all = true
    for _, p in ipairs(procs) do all = M.done(p) and all end
    if all then break end
    assert(socket.gettime() < deadline, "the zlock runs did not finish in time")
    if tick then tick() end
    socket.sleep(0.05)
  end
  local t0, t1 = math.huge, 0
  for _, p in ipairs(procs) do t0, t1 = math.min(t0, p.t0), math.max(t1, p.t1) end
  return t1 - t0
end

--- What process `p` left once done: `{code=, summary= (the --json summary, or nil), stderr=}`;
-- removes its files.
function M.result(p)
  assert(M.done(p), "the process has not finished")
  local out, err = slurp(p.dir .. "/out"), slurp(p.dir .. "/err")
  os.execute("rm -rf " .. q(p.dir))
  return { code = p.code, summary = cjson.decode(out), stderr = err, out = out }
end

--- The emulator's CRM figures from `stats` (`e:stats()`): CRM requests (the admin API left out),
-- those answered 429, `locks.lock` replies 201, and the offered in-flight peak.
function M.figures(stats)
  local calls = 0
  for route, by in pairs(stats.requests or {}) do
    if route ~= "admin" then
      for _, n in pairs(by) do calls = calls + n end
    end
  end
  local locked = (stats.requests["locks.lock"] or {})["201"] or 0
  return { calls = calls, throttled = stats.too_many_requests, locked = locked,
           share429 = calls > 0 and stats.too_many_requests / calls or 0,
           offered = stats.max_in_flight_offered, served = stats.max_in_flight }
end

--- Runs `parts` (from `ranges`) at once with environment `env` and measures them: returns
-- `{wall=, rate= (locks/s of the whole), results= (each run's `result`), ...}` and the
-- emulator's figures (`figures`), which start from zero here. Checks nothing.
function M.run(e, parts, env)
  e:req("DELETE", "/__emu/stats", { token = false })
  local procs, n = {}, 0
  for i, part in ipairs(parts) do
    procs[i] = M.spawn(e, part, env)
    n = n + #part.ids
  end
  local wall = M.wait(procs)
  local f = M.figures(e:stats())
  f.wall, f.rate, f.results = wall, n / wall, {}
  for i, p in ipairs(procs) do f.results[i] = M.result(p) end
  return f
end

--- The number of journal entries (finished items) in `path` (0 when it does not exist).
M.journal_lines = S.lines

return M
