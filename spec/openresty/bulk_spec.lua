-- Bulk work inside nginx: the example's background job (ngx.timer.at) runs the bulk runner
-- on the light-thread engine, with at most `concurrency` calls in flight at the emulator,
-- while the worker keeps serving requests.
local socket = require "socket"
local emu = require "helpers.emu"
local ngxs = require "openresty.support"

describe("bulk locks in an nginx timer", function()
  local e, n

  lazy_setup(function()
    e = emu.start{ "--seed", "demo", "--latency", "100" }
    n = ngxs.start{ env = { ZOHO_API_DOMAIN = e.url, ZOHO_ACCESS_TOKEN = emu.ACCESS_TOKEN } }
  end)

  lazy_teardown(function()
    if n then n:stop() end
    if e then e:stop() end
  end)

  it("locks every deal with at most `concurrency` calls in flight, and reports the summary", function()
    local ids = ngxs.unlocked_deals(e, 12)
    local r = assert(n:req("POST", "/bulk/lock", { json = { ids = ids, reason = "quarter closed", concurrency = 4 } }))
    assert.equal(202, r.status, r.body)
    local job = r.json.job
    -- the worker still answers while the job runs
    local t0 = socket.gettime()
    local status
    repeat
      socket.sleep(0.05)
      status = assert(n:req("GET", "/bulk/" .. job))
      assert.equal(200, status.status, status.body)
    until status.json.state == "done" or socket.gettime() - t0 > 30
    assert.equal("done", status.json.state, status.body)
    assert.equal(12, status.json.counts.locked, status.body)
    assert.equal(0, status.json.failed)
    assert.truthy(status.body:find('"failures":[]', 1, true), status.body)   -- an array, even empty
    assert.equal("ngx", status.json.engine.engine)
    assert.equal(4, status.json.engine.peak)
    local st = e:stats()
    assert.is_true(st.max_in_flight <= 4, "max in flight " .. st.max_in_flight)
    assert.is_true(st.max_in_flight >= 2, "the engine ran one call at a time")
    local want = {}
    for _, id in ipairs(ids) do want[id] = true end
    local count = 0
    for _, l in ipairs(e:state().locks) do
      if want[l.record_id] then
        count = count + 1
        assert.equal("quarter closed", l.reason)
      end
    end
    assert.equal(12, count)
  end)

  it("gets the core's outcomes on the light-thread engine: our lock reconciled, another's left as is", function()
    local org = require "helpers.emu_org"
    local ids = ngxs.unlocked_deals(e, 3)
    local _, ours = org.lock(e, "Deals", ids[1], "ngx outcomes")
    local _, other = org.lock(e, "Deals", ids[2], "somebody else")
    assert.is_string(ours); assert.is_string(other)
    local r = assert(n:req("POST", "/bulk/lock", { json = { ids = ids, reason = "ngx outcomes", concurrency = 2 } }))
    assert.equal(202, r.status, r.body)
    local t0 = socket.gettime()
    local status
    repeat
      socket.sleep(0.05)
      status = assert(n:req("GET", "/bulk/" .. r.json.job))
    until status.json.state == "done" or socket.gettime() - t0 > 30
    assert.equal("done", status.json.state, status.body)
    assert.equal(2, status.json.counts.locked, status.body)
    assert.equal(1, status.json.counts.already_locked, status.body)
    assert.equal(0, status.json.failed, status.body)
    assert.equal("ngx", status.json.engine.engine)
    assert.equal(ours, ngxs.emu_lock(e, ids[1]).lock_id)            -- not locked twice
    assert.equal("somebody else", ngxs.emu_lock(e, ids[2]).reason)
    assert.equal("ngx outcomes", ngxs.emu_lock(e, ids[3]).reason)
  end)

  it("refuses malformed jobs with 400", function()
    assert.equal(400, n:req("POST", "/bulk/lock", { json = { ids = { 123 }, reason = "x" } }).status)
    assert.equal(400, n:req("POST", "/bulk/lock", { json = { ids = { "1" } } }).status)
    assert.equal(404, n:req("GET", "/bulk/999999").status)
  end)
end)
