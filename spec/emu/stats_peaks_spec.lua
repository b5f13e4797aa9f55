-- Black-box spec: zlock-emu's in-flight peaks in /__emu/stats (served, and offered: the calls
-- refused with 429 for --concurrency-limit included) and DELETE /__emu/stats, which zeroes the
-- statistics between the phases of one run without touching the org.
local emu = require "helpers.emu"
local org = require "helpers.emu_org"
local many = require "helpers.http_many"

local USER = "/crm/v8/users?type=CurrentUser"

describe("zlock-emu in-flight peaks", function()
  local e
  lazy_setup(function() e = emu.start{ "--seed", "demo", "--concurrency-limit", "2", "--latency", "600" } end)
  lazy_teardown(function() if e then e:stop() end end)

  local function burst(n)
    local reqs = {}
    for i = 1, n do reqs[i] = { method = "GET", path = USER, token = emu.ACCESS_TOKEN } end
    return many.count(many.run(e.url, reqs))
  end

  it("counts the peak the clients offered, beyond the limit, apart from the peak served", function()
    e:reset()
    local c = burst(6)
    local s = e:stats()
    assert.is_true((c[429] or 0) >= 1, "the burst must exceed the limit: " .. many.show(c))
    assert.equals(2, s.max_in_flight, "served peak")
    -- every refused call was in flight, as the clients see it, when it was refused
    assert.is_true(s.max_in_flight_offered >= 3, "offered peak " .. tostring(s.max_in_flight_offered))
    assert.is_true(s.max_in_flight_offered <= 6, "offered peak " .. tostring(s.max_in_flight_offered))
  end)

  it("equals the served peak while the clients stay within the limit", function()
    e:reset()
    local c = burst(2)
    assert.equals(2, c[200], many.show(c))
    local s = e:stats()
    assert.equals(s.max_in_flight, s.max_in_flight_offered)
  end)

  it("DELETE /__emu/stats zeroes the statistics and keeps the org", function()
    e:reset()
    e:faults{ latency_ms = 0 }
    local id = org.fresh(e, "Deals")
    local res = e:req("POST", "/crm/v8/Deals/" .. id .. "/Locking_Information__s",
      { body = { data = { { Locked_Reason__s = "kept" } } } })
    assert.equals(201, res.status, res.body)
    e:faults{ latency_ms = 600 }
    burst(6)
    local before = e:stats()
    assert.is_true(before.total > 0 and before.too_many_requests > 0)
    local del = e:req("DELETE", "/__emu/stats", { token = false })
    assert.equals(200, del.status, del.body)
    assert.equals(0, del.json.total)
    local s = e:stats()
    assert.equals(0, s.too_many_requests)
    assert.equals(0, s.max_in_flight)
    assert.equals(0, s.max_in_flight_offered)
    for route in pairs(s.requests) do   -- the admin calls answered since are counted
      assert.equals("admin", route, "no CRM call since the reset, yet " .. route .. " counted")
    end
    assert.equals(1, #org.locks(e, "Deals", id), "the org is untouched")
    assert.equals(600, e:faults().latency_ms, "the settings are untouched")
  end)
end)
