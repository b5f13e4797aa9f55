-- What taking a slot of the fleet budget costs one call: N sequential c:get calls of one
-- record against a zlock-emu with no latency, through one client with the budget on (Redis on
-- loopback, org_limit 10) and one with it off (org_budget = false), in alternating blocks so
-- both see the same machine. Prints each side's median per-call wall time, the difference per
-- call (the slot's cost: one script call to take it, one to give it back) and the ratio.
-- Target: under 0.2 ms a call, small against Zoho's 100-300 ms.
-- Usage: lua5.4 bench/fleet_slot.lua [N=2000] [BLOCKS=10]       (bench/fleet_slot.sh runs it)
package.path = "lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
package.cpath = "build/lua5.4/?.so;" .. package.cpath
local zlock = require "zlock"
local socket = require "socket"
local emu = require "helpers.emu"
local redis = require "helpers.redis"

local N, BLOCKS = tonumber(arg[1] or 2000), tonumber(arg[2] or 10)
local e = emu.start{ "--seed", "demo" }
local r = redis.start()
local id = assert(e:state().locks[1], "the demo org has locks").record_id

local function client(budget)
  local opts = { api_domain = e.url, access_token = emu.ACCESS_TOKEN, token_store = "none",
                 redis_url = r.url .. "/0", org_budget = budget, org_limit = 10 }
  local c = assert(zlock.new(opts))
  assert(c:get("Deals", id))   -- warm: the connections (HTTP and Redis) open outside the blocks
  return c
end
local on, off = client(true), client(false)

local function block(c)
  local t0 = socket.gettime()
  for _ = 1, N do assert(c:get("Deals", id)) end
  return (socket.gettime() - t0) / N * 1000
end

local function median(t)
  table.sort(t)
  local n = #t
  return n % 2 == 1 and t[(n + 1) // 2] or (t[n // 2] + t[n // 2 + 1]) / 2
end

local function script_calls()   -- the budget's EVALSHA calls Redis has served so far
  return tonumber(r:cli("INFO", "commandstats"):match("cmdstat_evalsha:calls=(%d+)") or 0)
end
local calls0 = script_calls()
local son, soff, diffs = {}, {}, {}
for b = 1, BLOCKS do
  local a, z
  if b % 2 == 0 then a = block(on); z = block(off) else z = block(off); a = block(on) end
  son[#son + 1], soff[#soff + 1], diffs[#diffs + 1] = a, z, a - z
end
local per_call = (script_calls() - calls0) / (N * BLOCKS)
-- Redis's own time per script run (the rest of the slot's cost is the two round trips)
local usec = tonumber(r:cli("INFO", "commandstats"):match("cmdstat_evalsha:[^\n]*usec_per_call=([%d.]+)") or 0)
local keys = r:cli("KEYS", "zlock:budget:*")
assert(keys:find("zlock:budget:", 1, true), "the budget never reached Redis: " .. keys)
local mon, moff = median(son), median(soff)
print(("# %d blocks of %d sequential c:get calls per side, alternating; zlock-emu without latency, "
  .. "redis-server on loopback"):format(BLOCKS, N))
print(("per call: budget on %.3f ms, off %.3f ms; the slot costs %.3f ms a call (median of the "
  .. "per-block differences), ratio on / off %.2f; %.2f budget script calls (EVALSHA) per API call, "
  .. "%.1f us each inside Redis"):format(
  mon, moff, median(diffs), mon / moff, per_call, usec))
on:close(); off:close(); r:stop(); e:stop()
