-- The example HAProxy API (examples/haproxy/) in a real HAProxy in front of zlock-emu: the
-- webhook cases every host passes, and proof that zlock never stalls HAProxy's event loop.
local emu = require "helpers.emu"
local web = require "helpers.web"
local hx = require "hosts.haproxy_support"

require("helpers.webhook_cases")("examples/haproxy in HAProxy", function(env)
  return hx.start{ env = env }
end, _ENV or getfenv(1))

describe("HAProxy transport concurrency", function()
  local e, h

  lazy_setup(function()
    e = emu.start{ "--seed", "demo", "--latency", "300" }
    h = hx.start{ env = { ZOHO_API_DOMAIN = e.url, ZOHO_ACCESS_TOKEN = emu.ACCESS_TOKEN } }
  end)

  lazy_teardown(function()
    if h then h:stop() end
    if e then e:stop() end
  end)

  local function lock_req(id)
    return { method = "POST", path = "/deals/" .. id .. "/lock", body = '{"reason":"webhook ' .. id .. '"}' }
  end

  it("serves 20 concurrent locks in under 2x the time of one, and /ping in under 50 ms meanwhile", function()
    local ids = web.unlocked_deals(e, 22)
    assert.equal(404, h:req("GET", "/deals/" .. ids[22] .. "/lock").status)   -- warm up: first require
    local one, t1 = h:parallel{ lock_req(ids[1]) }
    assert.equal(201, one[1].status, one[1].body)
    local reqs = {}
    for i = 1, 20 do reqs[i] = lock_req(ids[i + 1]) end
    reqs[21] = { method = "GET", path = "/ping" }
    local res, t20 = h:parallel(reqs)
    for i = 1, 20 do assert.equal(201, res[i].status, "request " .. i .. ": " .. tostring(res[i].body)) end
    assert.equal(200, res[21].status)
    local ratio = t20 / t1
    print(string.format("\n[haproxy] one lock %.0f ms, 20 concurrent %.0f ms, ratio %.2f (limit 2); " ..
                        "/ping during them %.1f ms (limit 50)", t1 * 1000, t20 * 1000, ratio, res[21].latency * 1000))
    assert.is_true(ratio < 2, string.format("ratio %.2f: 1 call %.3f s, 20 calls %.3f s", ratio, t1, t20))
    assert.is_true(res[21].latency < 0.05, string.format("/ping took %.3f s", res[21].latency))
    assert.is_true(e:stats().max_in_flight >= 10)   -- the emulator saw them together
    for i = 1, 21 do assert.truthy(web.emu_lock(e, ids[i]), "no lock on " .. ids[i]) end
  end)
end)
