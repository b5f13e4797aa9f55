-- wrk script: one lock (POST .../Locking_Information__s) per request, each on a distinct record,
-- the records split between wrk's threads. The peer figure for bench/bulk_throughput.sh.
-- Usage: wrk -t2 -c16 -d5s -s bench/bulk_wrk_lock.lua URL -- IDS_FILE TOKEN NTHREADS
-- wrk's entry points and the thread number setup hands each thread are globals:
-- luacheck: globals setup init request done wrk tid
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
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
end

function request()
  n = n + 1
  local id = ids[(n - 1) % #ids + 1]   -- wraps only when ids run out (then 403: counted apart)
  return wrk.format("POST", "/crm/v8/Deals/" .. id .. "/Locking_Information__s")
end

function done(summary)
  -- no response() callback: wrk would hand every reply body to LuaJIT, whose string table
  -- then chains bodies that hash alike (same length and sampled bytes within one second); in
  -- some rounds that cost wrk 3x its CPU and 40% of its rate. A lock is a 201, every refusal
  -- a 4xx (counted by wrk as a status error).
  local o = summary.errors.status
  local l = summary.requests - o
  local secs = summary.duration / 1e6
  io.write(string.format("wrk_locks %d other_replies %d seconds %.2f locks_per_s %.0f\n", l, o, secs, l / secs))
end
