-- The C bulk engine under valgrind (bench/bulk_valgrind.sh): every op, 500s, dropped replies,
-- 429s (window cuts, restarts), 2-second tokens (refreshes under multi), items abandoned by
-- close and by the garbage collector.
local root = arg[0]:match("^(.*)/bench/[^/]*$") or "."
package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. root .. "/spec/?.lua;" .. package.path
package.cpath = root .. "/build/lua5.4/?.so;" .. package.cpath
local emu = require "helpers.emu"

local e = emu.start{ "--seed", "demo", "--records", "Deals=300", "--fail-rate", "0.1", "--drop-rate", "0.05",
                     "--token-ttl", "2", "--concurrency-limit", "3", "--latency", "5" }
local ok, err = pcall(function()
  local zlock = require "zlock"
  local c = assert(zlock.new{ api_domain = e.url, accounts_domain = e.url, client_id = emu.CLIENT_ID,
    client_secret = emu.CLIENT_SECRET, refresh_token = emu.REFRESH_TOKEN,
    retries = { max_attempts = 2, base_delay = 0.01 } })
  local ids = {}
  for id, locked in pairs(e:state().records.Deals) do if locked ~= true then ids[#ids + 1] = id end end
  table.sort(ids)
  local eng = assert(c:bulk_engine{ concurrency = 8, throttle_pause = 0.02 })
  local n, f = 0, 0
  for _, op in ipairs{ "lock", "get", "unlock", "lock" } do
    local i = 1
    while i <= 150 or eng:inflight() > 0 do
      while i <= 150 and eng:submit{ op = op, module = "Deals", record_id = ids[i], reason = "vg" } do i = i + 1 end
      for _, d in ipairs(eng:poll(0.05)) do
        n = n + 1
        if d.err then f = f + 1 end
      end
    end
  end
  for k = 1, 20 do eng:submit{ op = "get", module = "Deals", record_id = ids[k] } end   -- abandoned by close
  eng:poll(0.01)
  print("finished", n, "failed", f, require("cjson").encode(eng:stats()))
  eng:close()
  do
    local eng2 = assert(c:bulk_engine{ concurrency = 2 })                             -- abandoned to the GC
    for k = 1, 5 do eng2:submit{ op = "get", module = "Deals", record_id = ids[k] } end
  end
  c:close()
  collectgarbage()
  collectgarbage()
end)
e:stop()
if not ok then
  print(err)
  os.exit(1)
end
