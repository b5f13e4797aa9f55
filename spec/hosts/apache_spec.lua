-- The example Apache API (examples/apache/, mod_lua) in a real Apache in front of zlock-emu:
-- the webhook cases every host passes, and 16 concurrent requests on 16 request threads.
local emu = require "helpers.emu"
local web = require "helpers.web"
local ap = require "hosts.apache_support"

require("helpers.webhook_cases")("examples/apache in Apache mod_lua", function(env)
  return ap.start{ env = env }
end, _ENV or getfenv(1))

describe("Apache mod_lua with 16 concurrent requests", function()
  local e, a

  lazy_setup(function()
    e = emu.start{ "--seed", "demo", "--latency", "300" }
    a = ap.start{ env = { ZOHO_API_DOMAIN = e.url, ZOHO_ACCESS_TOKEN = emu.ACCESS_TOKEN } }
  end)

  lazy_teardown(function()
    if a then a:stop() end
    if e then e:stop() end
  end)

  it("locks 16 deals at once, each exactly once, on parallel request threads", function()
    local ids = web.unlocked_deals(e, 16)
    local reqs = {}
    for i, id in ipairs(ids) do
      reqs[i] = { method = "POST", path = "/deals/" .. id .. "/lock", body = '{"reason":"apache ' .. id .. '"}' }
    end
    local res, t = a:parallel(reqs)
    for i = 1, 16 do assert.equal(201, res[i].status, "request " .. i .. ": " .. tostring(res[i].body)) end
    for _, id in ipairs(ids) do
      local held = 0
      for _, l in ipairs(e:state().locks) do
        if l.record_id == id then held = held + 1 end
      end
      assert.equal(1, held, id)
    end
    print(string.format("\n[apache] 16 concurrent locks at 300 ms each: %.0f ms; emulator peak in flight %d",
                        t * 1000, e:stats().max_in_flight))
    assert.is_true(e:stats().max_in_flight >= 8, "the request threads did not call in parallel")
  end)
end)
