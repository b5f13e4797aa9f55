-- API credits: a 429 whose X-API-CREDITS-REMAINING says 0 means the org's credits are spent
-- (Zoho gives them back over a rolling 24 h window). No retry can succeed before then, so the
-- call ends at once with CREDITS_EXHAUSTED instead of backing off for minutes; a 429 of the
-- concurrency limit (no such header) is still retried (retry_auth_spec.lua). Against
-- zlock-emu's --credits.
local support = require "core.support"
local socket = require "socket"
local org = support.org

local FAST = { max_attempts = 10, base_delay = 0.001, max_delay = 0.01 }

describe("API credits", function()
  it("a 429 saying 0 credits remain ends the call after one request: CREDITS_EXHAUSTED, not retryable", function()
    local e = support.start{}
    local ok, why = pcall(function()
      local c = support.client(e, { retries = FAST })
      local a, b = org.fresh(e, "Deals"), org.fresh(e, "Deals")
      e:faults{ credits = 2, credits_window = 3600 }
      assert(c:get("Deals", a))
      assert(c:get("Deals", a))                     -- the 2 credits are spent
      local before429 = support.status_count(e, 429)
      local before = support.api_requests(e)
      local res, err = c:lock("Deals", b, "credits spec")
      assert.is_nil(res)
      assert.equals("CREDITS_EXHAUSTED", err.code)
      assert.equals(429, err.http_status)
      assert.is_false(err.retryable)
      assert.truthy(tostring(err.message):find("X-API-CREDITS-REMAINING: 0", 1, true))
      assert.equals(1, support.api_requests(e) - before, "one request, no retry")
      assert.equals(1, support.status_count(e, 429) - before429)
      e:faults{ credits = 0 }
      assert.same({}, assert(c:get("Deals", b)), "the refused lock was not applied")
    end)
    e:stop()
    assert(ok, why)
  end)

  it("is not sticky: once the window gives credits back, the next call goes through", function()
    local e = support.start{}
    local ok, why = pcall(function()
      local c = support.client(e, { retries = FAST })
      local a = org.fresh(e, "Deals")
      e:faults{ credits = 1, credits_window = 1 }
      assert(c:get("Deals", a))
      local _, err = c:get("Deals", a)
      assert.equals("CREDITS_EXHAUSTED", err and err.code)
      socket.sleep(1.2)
      local lock = assert(c:lock("Deals", a, "credits spec, after the window"))
      assert.truthy(lock.id)
      e:faults{ credits = 0 }
      local locks = assert(c:get("Deals", a))
      assert.equals(1, #locks)
      assert.equals(lock.id, locks[1].id)
    end)
    e:stop()
    assert(ok, why)
  end)
  it("takes a transport's credits value leniently: 0 is final, anything else is no signal, never an error", function()
    local zlock = require "zlock"
    local E429 = '{"code":"TOO_MANY_REQUESTS","details":{},"message":"too many","status":"error"}'
    local cases = { { 0, "CREDITS_EXHAUSTED" }, { "0", "CREDITS_EXHAUSTED" }, { 1.5, "TOO_MANY_REQUESTS" },
                    { "abc", "TOO_MANY_REQUESTS" }, { -3, "TOO_MANY_REQUESTS" }, { 1e30, "TOO_MANY_REQUESTS" },
                    { 12, "TOO_MANY_REQUESTS" } }
    for _, case in ipairs(cases) do
      local sends = 0
      local c = assert(zlock.new{ api_domain = "http://127.0.0.1:9", access_token = "1000.x",
        retries = { max_attempts = 2, base_delay = 0.001, max_delay = 0.002 },
        transport = { send = function() sends = sends + 1; return 429, E429, nil, case[1] end } })
      local res, err = c:get("Deals", "1234567890123456789")
      assert.is_nil(res)
      assert.equals(case[2], err.code, "credits " .. tostring(case[1]))
      assert.equals(case[2] == "CREDITS_EXHAUSTED" and 1 or 2, sends, "credits " .. tostring(case[1]))
    end
  end)
end)
