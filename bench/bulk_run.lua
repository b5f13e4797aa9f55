-- Bulk locks through zlock against a running zlock-emu, for bench/bulk_*.sh (prints figures).
-- Usage: lua5.4 bench/bulk_run.lua URL IDS_FILE CONCURRENCY [runner|engine] [N]
--   runner: c:bulk{} on the C engine (what `zlock run` does, minus journal and policy)
--   engine: the C engine driven directly (no runner bookkeeping)
local root = arg[0]:match("^(.*)/bench/[^/]*$") or "."
package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
package.cpath = root .. "/build/lua5.4/?.so;" .. package.cpath
local zlock = require "zlock"
local socket = require "socket"

local url, file = arg[1], arg[2]
local conc, mode, limit = tonumber(arg[3] or 16), arg[4] or "runner", tonumber(arg[5])
local ids = {}
for line in io.lines(file) do
  ids[#ids + 1] = line
  if limit and #ids >= limit then break end
end
local token = os.getenv("EMU_TOKEN") or "1000.zlockemu.demo-access-token"
local c = assert(zlock.new{ api_domain = url, access_token = token })
local reason = "bench " .. mode
local t0 = socket.gettime()
local locked, failed, stats = 0, 0
if mode == "engine" then
  local eng = assert(c:bulk_engine{ concurrency = conc })
  local i = 1
  while i <= #ids or eng:inflight() > 0 do
    while i <= #ids and eng:submit{ op = "lock", module = "Deals", record_id = ids[i], reason = reason } do
      i = i + 1
    end
    for _, d in ipairs(eng:poll(0.05)) do
      if d.result then locked = locked + 1 else failed = failed + 1 end
    end
  end
  stats = eng:stats()
  eng:close()
else
  local run = c:bulk{ concurrency = conc }
  for _, id in ipairs(ids) do run:lock("Deals", id, reason) end
  local sum = run:finish()
  locked, failed, stats = sum.counts.locked or 0, sum.failed, sum.engine
end
local secs = socket.gettime() - t0
io.write(string.format("zlock_%s locks %d failed %d seconds %.2f locks_per_s %.0f window %d max_inflight %d"
  .. " throttled %d connects %d\n", mode, locked, failed, secs, locked / secs, stats.concurrency or 0,
  stats.max_inflight or 0,
  stats.throttled or 0, stats.connects or 0))
c:close()
