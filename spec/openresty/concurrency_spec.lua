-- The nginx transport never blocks the worker: with every CRM call taking 200 ms at the
-- emulator, 20 webhook calls at once to ONE nginx worker finish within twice the time of one.
-- The same burst through a libcurl (blocking) client in the same worker serializes: that
-- control shows the measurement can tell the two apart. Ratios measured in the same run.
local emu = require "helpers.emu"
local ngxs = require "openresty.support"

-- A test-only location: the same lock through a client forced onto libcurl (blocking).
local CURL_LOCATION = [[
        location ~ ^/curl/deals/(\d+)/lock$ {
            content_by_lua_block {
                local zlock = require "zlock"
                local c = package.loaded["zlock.test.curl_client"]
                if not c then
                    c = assert(zlock.new(zlock.env_options{ transport = "curl" }))
                    package.loaded["zlock.test.curl_client"] = c
                end
                local lock, err = c:lock("Deals", ngx.var[1], "blocking webhook")
                ngx.status = lock and 201 or 502
                ngx.say(lock and lock.id or tostring(err))
            }
        }
]]

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

describe("nginx transport concurrency", function()
  local e, n

  lazy_setup(function()
    e = emu.start{ "--seed", "demo", "--latency", "200" }
    n = ngxs.start{ workers = 1, extra_server = CURL_LOCATION,
                    env = { ZOHO_API_DOMAIN = e.url, ZOHO_ACCESS_TOKEN = emu.ACCESS_TOKEN } }
  end)

  lazy_teardown(function()
    if n then n:stop() end
    if e then e:stop() end
  end)

  local function lock_req(prefix, id)
    return { method = "POST", path = prefix .. "/deals/" .. id .. "/lock", body = '{"reason":"webhook ' .. id .. '"}' }
  end

  -- one call alone, then `k` at once; returns the ratio and the times
  local function measure(prefix, ids, k)
    local one, t1 = n:parallel{ lock_req(prefix, ids[1]) }
    assert.equal(201, one[1].status, one[1].body)
    local reqs = {}
    for i = 1, k do reqs[i] = lock_req(prefix, ids[i + 1]) end
    local res, tk = n:parallel(reqs)
    local pids = {}
    for i = 1, k do
      assert.equal(201, res[i].status, "request " .. i .. ": " .. tostring(res[i].body))
      pids[res[i].worker] = true
    end
    assert.equal(1, count(pids))   -- one worker served them all
    return tk / t1, t1, tk
  end

  it("serves 20 concurrent lock webhooks on one worker in under 2x the time of one", function()
    local ids = ngxs.unlocked_deals(e, 21)
    -- warm up: the worker's first require and first connection
    assert.equal(404, n:req("GET", "/deals/" .. ids[1] .. "/lock").status)
    local ratio, t1, t20 = measure("", ids, 20)
    print(string.format("\n[openresty] cosockets: one lock %.0f ms, 20 concurrent %.0f ms, ratio %.2f (limit 2)",
                        t1 * 1000, t20 * 1000, ratio))
    assert.is_true(ratio < 2, string.format("ratio %.2f: 1 call %.3f s, 20 calls %.3f s", ratio, t1, t20))
    assert.is_true(e:stats().max_in_flight >= 10)   -- the emulator saw them together
    local landed = 0
    for _, id in ipairs(ids) do
      if ngxs.emu_lock(e, id) then landed = landed + 1 end
    end
    assert.equal(21, landed)
  end)

  it("control: the same burst through a blocking libcurl client serializes on the worker", function()
    local ids = ngxs.unlocked_deals(e, 11)
    local ratio, t1, t10 = measure("/curl", ids, 10)
    print(string.format("[openresty] libcurl (blocking): one lock %.0f ms, 10 concurrent %.0f ms, ratio %.2f",
                        t1 * 1000, t10 * 1000, ratio))
    assert.is_true(ratio > 5, string.format("blocking ratio only %.2f", ratio))
  end)
end)
