-- bench/log_hooks.sh's measurement: wall and CPU time of N gets without and with a hook.
local zlock = require "zlock"
local socket = require "socket"
local N, ROUNDS = tonumber(os.getenv("N") or 2000), tonumber(os.getenv("ROUNDS") or 3)
local ID = "5843104000000100309"   -- the demo org's first deal

local function run(opts)
  opts.api_domain, opts.access_token = os.getenv("EMU_URL"), os.getenv("EMU_TOKEN")
  local c = assert(zlock.new(opts))
  assert(c:get("Deals", ID))   -- the connection is open before the clock starts
  local t0, cpu0 = socket.gettime(), os.clock()
  for _ = 1, N do assert(c:get("Deals", ID)) end
  local wall, cpu = socket.gettime() - t0, os.clock() - cpu0
  c:close()
  return wall, cpu
end

for round = 1, ROUNDS do
  local w1, c1 = run{}
  local calls = 0
  local w2, c2 = run{ on_response = function() calls = calls + 1 end }
  assert(calls == N + 1, "the hook saw " .. calls .. " replies")
  print(("round %d, %d gets: no hook %.3f s wall %.3f s CPU; on_response %.3f s wall %.3f s CPU;"
    .. " ratio wall %.2f, CPU %.2f"):format(round, N, w1, c1, w2, c2, w2 / w1, c2 / c1))
end
