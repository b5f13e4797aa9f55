-- wrk script: one lock (POST .../Locking_Information__s) per request, each on a distinct record,
-- the records split between wrk's threads. The peer figure for bench/bulk_throughput.sh.
-- Usage: wrk -t2 -c16 -d5s -s bench/bulk_wrk_lock.lua URL -- IDS_FILE TOKEN NTHREADS
-- wrk's entry points and the per-thread counters it reads back with thread:get are globals:
-- luacheck: globals setup init request response done wrk tid locks others
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  threads[#threads + 1] = thread
end

local ids, n = {}, 0

function init(args)
  local nthreads, k = tonumber(args[3]), 0
  for line in io.lines(args[1]) do
    if k % nthreads == tid then ids[#ids + 1] = line end
    k = k + 1
  end
  wrk.headers["Authorization"] = "Zoho-oauthtoken " .. args[2]
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = '{"data":[{"Locked_Reason__s":"wrk bench"}]}'
  locks, others = 0, 0
end

function request()
  n = n + 1
  local id = ids[(n - 1) % #ids + 1]   -- wraps only when ids run out (then 403: counted apart)
  return wrk.format("POST", "/crm/v8/Deals/" .. id .. "/Locking_Information__s")
end

function response(status)
  if status == 201 then locks = locks + 1 else others = others + 1 end
end

function done(summary)
  local l, o = 0, 0
  for _, t in ipairs(threads) do
    l = l + t:get("locks")
    o = o + t:get("others")
  end
  local secs = summary.duration / 1e6
  io.write(string.format("wrk_locks %d other_replies %d seconds %.2f locks_per_s %.0f\n", l, o, secs, l / secs))
end
