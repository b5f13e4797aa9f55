-- bench/fleet.sh's driver: fleet throughput and 429 share of P `zlock run` processes at once
-- (P = 1, 2, 3, 5), each locking its share of N deals on one zlock-emu (--latency 100
-- --concurrency-limit 10: the ceiling is 100 calls/s), without the fleet budget
-- (ZLOCK_ORG_BUDGET=off, each process its own window), with it and ZLOCK_ORG_LIMIT=10 (given),
-- and with it learning the limit. Every process runs at its default concurrency (10).
-- Usage: lua5.4 bench/fleet.lua [N=900] [ROUNDS=1] [PROCESSES=1,2,3,5]
package.path = "lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
package.cpath = "build/lua5.4/?.so;" .. package.cpath
local fleet = require "helpers.fleet"
local redis = require "helpers.redis"

local N, ROUNDS = tonumber(arg[1] or 900), tonumber(arg[2] or 1)
local CEILING = 100   -- locks/s: 10 in flight, 100 ms each
local counts = {}
for p in (arg[3] or "1,2,3,5"):gmatch("%d+") do counts[#counts + 1] = tonumber(p) end

local e = fleet.emulator(100, 10)
local r = redis.start()
local modes = {
  { "off", { ZLOCK_REDIS_URL = r.url .. "/0", ZLOCK_ORG_BUDGET = "off" } },
  { "given 10", { ZLOCK_REDIS_URL = r.url .. "/0", ZLOCK_ORG_LIMIT = "10" } },
  { "learned", { ZLOCK_REDIS_URL = r.url .. "/0" } },
}

local function median(t)
  table.sort(t)
  local n = #t
  return n % 2 == 1 and t[(n + 1) // 2] or (t[n // 2] + t[n // 2 + 1]) / 2
end

print(("# %d locks split between P processes; zlock-emu --latency 100 --concurrency-limit 10 "
  .. "(ceiling 100 locks/s); %d round(s), median; rounds interleave the modes"):format(N, ROUNDS))
print("| processes | budget | locks/s together | % of ceiling | 429 share | peak in flight offered | wall s "
  .. "| failed runs |")
print("|---|---|---|---|---|---|---|---|")
for _, p in ipairs(counts) do
  local acc = {}
  for _ = 1, ROUNDS do
    for m, mode in ipairs(modes) do
      e:reset()
      r:cli("FLUSHALL")
      local f = fleet.run(e, fleet.ranges(e, N, p), mode[2])
      local failed = 0
      for _, res in ipairs(f.results) do
        local s = res.summary
        if res.code ~= 0 or not s or (s.counts.failed or 0) > 0 then failed = failed + 1 end
      end
      local a = acc[m] or { rate = {}, share = {}, offered = {}, wall = {}, failed = 0 }
      acc[m] = a
      a.rate[#a.rate + 1], a.share[#a.share + 1] = f.rate, f.share429
      a.offered[#a.offered + 1], a.wall[#a.wall + 1] = f.offered, f.wall
      a.failed = a.failed + failed
    end
  end
  for m, mode in ipairs(modes) do
    local a = acc[m]
    local rate = median(a.rate)
    print(("| %d | %s | %.1f | %.0f%% | %.2f%% | %d | %.2f | %d |"):format(p, mode[1], rate, 100 * rate / CEILING,
      100 * median(a.share),
      median(a.offered), median(a.wall), a.failed))
  end
end
r:stop()
e:stop()
