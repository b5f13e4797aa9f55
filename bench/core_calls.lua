--- bench/core_calls.lua: zlock's side of the client-CPU comparison, the same requests
-- bench/core_curl_loop.c makes, through one zlock client.
--
--   lua5.4 bench/core_calls.lua BASE_URL TOKEN get|lock MODULE RECORD_ID COUNT
--
-- get:  COUNT x c:get(MODULE, RECORD_ID)            (the lock list, fields defaulted)
-- lock: COUNT x c:lock(...) + c:unlock(..., lock.id) (two requests each)
-- Prints "cpu_s=<os.clock() delta of the loop> calls=<requests> bad=<n> per_call_us=<...>".
local zlock = require "zlock"

local base, token, mode, module, rid, count = arg[1], arg[2], arg[3], arg[4], arg[5], tonumber(arg[6])
assert(base and token and mode and module and rid and count,
  "usage: core_calls.lua BASE_URL TOKEN get|lock MODULE RECORD_ID COUNT")

local c = assert(zlock.new{ api_domain = base, access_token = token })
assert(c:get(module, rid)) -- warm-up: the connection opens outside the measured loop

local calls, bad = 0, 0
local t0 = os.clock()
if mode == "get" then
  for _ = 1, count do
    local r = c:get(module, rid)
    calls = calls + 1
    if not r then bad = bad + 1 end
  end
else
  for _ = 1, count do
    local l = c:lock(module, rid, "bench")
    calls = calls + 1
    if l then
      calls = calls + 1
      if not c:unlock(module, rid, l.id) then bad = bad + 1 end
    else
      bad = bad + 1
    end
  end
end
local cpu = os.clock() - t0
local connects = c.info and c:info().connects
print(("cpu_s=%.4f calls=%d bad=%d per_call_us=%.2f connects=%s"):format(cpu, calls, bad,
  calls > 0 and cpu * 1e6 / calls or 0, tostring(connects)))
if c.close then c:close() end
os.exit(bad == 0 and 0 or 1)
