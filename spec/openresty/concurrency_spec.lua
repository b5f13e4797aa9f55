-- The nginx transport never blocks the worker: with every CRM call taking 200 ms at the
-- emulator, 20 webhook calls at once to ONE nginx worker finish within twice the time of one
-- (a blocking transport, libcurl easy or LuaSocket, would take about 20 times as long).
-- A ratio measured in the same run, not an absolute time.
local emu = require "helpers.emu"
local ngxs = require "openresty.support"

local function unlocked_deals(e, n)
  local st = e:state()
  local ids = {}
  for id, is_locked in pairs(st.records.Deals) do
    if not is_locked then ids[#ids + 1] = id end
  end
  table.sort(ids)
  assert(#ids >= n)
  return { unpack(ids, 1, n) }
end

describe("nginx transport concurrency", function()
  local e, n

  lazy_setup(function()
    e = emu.start{ "--seed", "demo", "--latency", "200" }
    n = ngxs.start{ workers = 1, env = { ZOHO_API_DOMAIN = e.url, ZOHO_ACCESS_TOKEN = emu.ACCESS_TOKEN } }
  end)

  lazy_teardown(function()
    if n then n:stop() end
    if e then e:stop() end
  end)

  it("serves 20 concurrent lock webhooks on one worker in under 2x the time of one", function()
    local ids = unlocked_deals(e, 21)
    local function lock_req(id)
      return { method = "POST", path = "/deals/" .. id .. "/lock", body = '{"reason":"webhook ' .. id .. '"}' }
    end
    -- warm up (worker's first require, keep-alive connection), then one alone
    assert.equal(404, n:req("GET", "/deals/" .. ids[21] .. "/lock").status)
    local one, t1 = n:parallel{ lock_req(ids[21]) }
    assert.equal(201, one[1].status)
    local reqs = {}
    for i = 1, 20 do reqs[i] = lock_req(ids[i]) end
    local res, t20 = n:parallel(reqs)
    local pids = {}
    for i = 1, 20 do
      assert.equal(201, res[i].status, "request " .. i)
      pids[res[i].worker] = true
    end
    assert.equal(1, #(function() local t = {} for p in pairs(pids) do t[#t + 1] = p end return t end)())
    local ratio = t20 / t1
    print(string.format("\n[openresty] one lock %.0f ms, 20 concurrent locks %.0f ms, ratio %.2f (limit 2.0)",
                        t1 * 1000, t20 * 1000, ratio))
    assert.is_true(ratio < 2, string.format("ratio %.2f: 1 call %.3f s, 20 calls %.3f s", ratio, t1, t20))
    -- the emulator saw them in flight together, and every lock landed once
    assert.is_true(e:stats().max_in_flight >= 10)
    local count = 0
    for _, l in ipairs(e:state().locks) do
      for i = 1, 21 do if l.record_id == ids[i] then count = count + 1 end end
    end
    assert.equal(21, count)
  end)
end)
