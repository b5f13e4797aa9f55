-- wrk script: GET one lock (Locking_Information__s/{lock_id}) over and over.
-- Usage: wrk -t2 -c16 -d5s -s bench/emu_wrk_get.lua URL -- PATH TOKEN
-- Counts answers that are not 200 so the figure is not inflated by errors.
-- luacheck: globals setup init response done wrk bad
local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  wrk.method = "GET"
  wrk.path = args[1]
  wrk.headers["Authorization"] = "Zoho-oauthtoken " .. args[2]
  bad = 0
end

function response(status)
  if status ~= 200 then bad = bad + 1 end
end

function done(summary)
  local n = 0
  for _, t in ipairs(threads) do n = n + (t:get("bad") or 0) end
  local secs = summary.duration / 1e6
  io.write(string.format("get_one: %d requests in %.2f s = %.0f req/s, %d not 200, %d socket errors\n",
    summary.requests, secs, summary.requests / secs, n,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
