--- The webhook API (`zlock.webhook`) served by a real host (nginx, HAProxy, ...) in front of
-- zlock-emu: the four operations through its endpoints, errors and statuses, checked against
-- the emulator's own state. Every host's spec runs these same cases:
--
--     require("helpers.webhook_cases")("examples/haproxy in HAProxy", function(env)
--       return hx.start{ env = env }      -- an object with :req(method, path, o) and :stop()
--     end, _ENV or getfenv(1))            -- the spec's busted functions (describe, it, assert...)
local emu = require "helpers.emu"
local web = require "helpers.web"

-- CRM calls the emulator has answered (admin calls excluded).
local function crm_calls(e)
  local n = 0
  for route, by_status in pairs(e:stats().requests) do
    if route ~= "admin" then
      for _, c in pairs(by_status) do n = n + c end
    end
  end
  return n
end

return function(name, start_host, env)
local describe, it, assert = env.describe, env.it, env.assert
local lazy_setup, lazy_teardown = env.lazy_setup, env.lazy_teardown
describe(name, function()
  local e, n

  lazy_setup(function()
    e = emu.start{ "--seed", "demo" }
    n = start_host{ ZOHO_API_DOMAIN = e.url, ZOHO_ACCESS_TOKEN = emu.ACCESS_TOKEN }
  end)

  lazy_teardown(function()
    if n then n:stop() end
    if e then e:stop() end
  end)

  it("locks, reads, updates and unlocks a deal; the emulator agrees at every step", function()
    local id = web.unlocked_deals(e, 1)[1]
    local r = assert(n:req("POST", "/deals/" .. id .. "/lock", { json = { reason = "awaiting legal review" } }))
    assert.equal(201, r.status, r.body)
    local l = web.emu_lock(e, id)
    assert.truthy(l, "the emulator holds no lock for " .. id)
    assert.equal(l.lock_id, r.json.id)
    assert.equal("awaiting legal review", l.reason)
    assert.equal("Manual", l.source)
    assert.equal(id, r.json.record_id)

    r = assert(n:req("GET", "/deals/" .. id .. "/lock"))
    assert.equal(200, r.status, r.body)
    assert.equal(l.lock_id, r.json.id)
    assert.equal("awaiting legal review", r.json.Locked_Reason__s)
    assert.equal("Manual", r.json.Lock_Source__s)
    assert.equal(id, r.json.Locked_For__s.id)

    r = assert(n:req("PUT", "/deals/" .. id .. "/lock", { form = { reason = "signed, waiting for payment" } }))
    assert.equal(200, r.status, r.body)
    assert.equal(l.lock_id, r.json.id)
    assert.equal("signed, waiting for payment", web.emu_lock(e, id).reason)

    r = assert(n:req("DELETE", "/deals/" .. id .. "/lock"))
    assert.equal(200, r.status, r.body)
    assert.equal(l.lock_id, r.json.id)
    assert.is_true(r.json.unlocked)
    assert.is_nil(web.emu_lock(e, id))

    r = assert(n:req("GET", "/deals/" .. id .. "/lock"))
    assert.equal(404, r.status, r.body)
    assert.equal("NOT_LOCKED", r.json.error.code)
  end)

  it("takes the reason from a form body too", function()
    local id = web.unlocked_deals(e, 1)[1]
    local r = assert(n:req("POST", "/deals/" .. id .. "/lock", { form = { reason = "façade: ünïcode ok" } }))
    assert.equal(201, r.status, r.body)
    assert.equal("façade: ünïcode ok", web.emu_lock(e, id).reason)
  end)

  it("answers a second lock of a locked deal with 409 and Zoho's NOT_ALLOWED; one lock remains", function()
    local id = web.unlocked_deals(e, 1)[1]
    assert.equal(201, n:req("POST", "/deals/" .. id .. "/lock", { json = { reason = "first" } }).status)
    local r = assert(n:req("POST", "/deals/" .. id .. "/lock", { json = { reason = "second" } }))
    assert.equal(409, r.status, r.body)
    assert.equal("NOT_ALLOWED", r.json.error.code)
    assert.equal(403, r.json.error.http_status)
    assert.equal("first", web.emu_lock(e, id).reason)
  end)

  it("refuses bad input with 400 before any call reaches the emulator", function()
    local id = web.unlocked_deals(e, 1)[1]
    local before = crm_calls(e)
    local r = assert(n:req("POST", "/deals/" .. id .. "/lock", { json = {} }))
    assert.equal(400, r.status, r.body)
    assert.equal("INVALID_ARGUMENT", r.json.error.code)
    r = assert(n:req("POST", "/deals/12345678901234567890/lock", { json = { reason = "x" } }))
    assert.equal(400, r.status, r.body)
    r = assert(n:req("POST", "/deals/1/lock", { json = { reason = string.rep("x", 3001) } }))
    assert.equal(400, r.status, r.body)
    assert.equal("INVALID_ARGUMENT", r.json.error.code)
    assert.equal(before, crm_calls(e))
  end)

  it("answers 429 CREDITS_EXHAUSTED after one call when Zoho says the credits are spent", function()
    local id = web.unlocked_deals(e, 1)[1]
    e:faults{ credits = 1, credits_window = 3600 }
    local ok, why = pcall(function()
      assert.equal(404, n:req("GET", "/deals/" .. id .. "/lock").status)   -- spends the one credit
      local before = crm_calls(e)
      local r = assert(n:req("POST", "/deals/" .. id .. "/lock", { json = { reason = "no credits" } }))
      assert.equal(429, r.status, r.body)
      assert.equal("CREDITS_EXHAUSTED", r.json.error.code)
      assert.is_false(r.json.error.retryable)
      assert.equal(1, crm_calls(e) - before, "the transport passed the header on: no retry")
    end)
    e:faults{ credits = 0 }
    assert(ok, why)
    assert.is_nil(web.emu_lock(e, id))
  end)

  it("maps Zoho's unknown-record error to 404 with the zlock error as JSON", function()
    local r = assert(n:req("POST", "/deals/1234567/lock", { json = { reason = "x" } }))
    assert.equal(404, r.status, r.body)
    assert.equal("INVALID_DATA", r.json.error.code)
    assert.equal(400, r.json.error.http_status)
    assert.is_string(r.json.error.message)
    assert.is_nil(r.body:find(emu.ACCESS_TOKEN, 1, true))
  end)

  it("lists the module's locks for the admin endpoint, the same set the emulator holds", function()
    local r = assert(n:req("GET", "/locks?module=Deals&limit=100000"))
    assert.equal(200, r.status, r.body)
    local got = {}
    for _, l in ipairs(r.json) do got[l.id] = l.record_id end
    local want, count = {}, 0
    for _, l in ipairs(e:state().locks) do
      if l.module == "Deals" then want[l.lock_id] = l.record_id; count = count + 1 end
    end
    assert.is_true(count > 0)
    assert.same(want, got)
  end)

  it("answers unknown endpoints and methods with 404 / 405", function()
    assert.equal(404, n:req("GET", "/deals/1/unlock").status)
    assert.equal(405, n:req("PATCH", "/deals/1/lock").status)
  end)
end)

describe(name .. " with a flaky upstream", function()
  local e, n

  lazy_setup(function()
    -- dropped connections (half of them after the change was applied) and 500s, fixed dice
    e = emu.start{ "--seed", "demo", "--drop-rate", "0.3", "--fail-rate", "0.1", "--random-seed", "7" }
    n = start_host{ ZOHO_API_DOMAIN = e.url, ZOHO_ACCESS_TOKEN = emu.ACCESS_TOKEN }
  end)

  lazy_teardown(function()
    if n then n:stop() end
    if e then e:stop() end
  end)

  it("retries through the host and leaves exactly one lock per deal (reconciliation)", function()
    local ids = web.unlocked_deals(e, 8)
    for _, id in ipairs(ids) do
      local r = assert(n:req("POST", "/deals/" .. id .. "/lock", { json = { reason = "flaky " .. id } }))
      assert.equal(201, r.status, r.body)
      local count = 0
      for _, l in ipairs(e:state().locks) do
        if l.module == "Deals" and l.record_id == id then
          count = count + 1
          assert.equal("flaky " .. id, l.reason)
          assert.equal(l.lock_id, r.json.id)
        end
      end
      assert.equal(1, count)
    end
    local st = e:stats()
    assert.is_true(st.drops + st.faults_500 > 0, "no fault was injected: the test proves nothing")
    -- unlock them all: a DELETE whose reply was lost answers "relation not found" when retried,
    -- which counts as done
    for _, id in ipairs(ids) do
      local r = assert(n:req("DELETE", "/deals/" .. id .. "/lock"))
      assert.equal(200, r.status, r.body)
      assert.is_nil(web.emu_lock(e, id))
    end
    assert.is_true(e:stats().drops_after_apply > st.drops_after_apply, "no reply was lost during the unlocks")
  end)
end)
end
