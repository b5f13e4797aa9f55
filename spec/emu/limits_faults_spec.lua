-- Black-box spec: zlock-emu's limits (concurrency, credits) and faults (latency, 500s,
-- dropped connections), from the command line and changed at run time via /__emu/faults.
-- No absolute timing asserts: latency is compared with a zero-latency request of the same run.
local emu = require "helpers.emu"
local shape = require "helpers.zoho_shape"
local org = require "helpers.emu_org"
local many = require "helpers.http_many"
local socket = require "socket"

local USER = "/crm/v8/users?type=CurrentUser"

local function lock_body(r) return { data = { { Locked_Reason__s = r } } } end

local function timed(e, path)
  local t0 = socket.gettime()
  local res = e:req("GET", path)
  return socket.gettime() - t0, res
end

describe("zlock-emu limits and faults", function()
  describe("--concurrency-limit", function()
    local e
    lazy_setup(function() e = emu.start{ "--seed", "demo", "--concurrency-limit", "2", "--latency", "600" } end)
    lazy_teardown(function() if e then e:stop() end end)

    it("answers 429 TOO_MANY_REQUESTS to requests beyond N in flight, and counts them", function()
      local reqs = {}
      for i = 1, 8 do reqs[i] = { method = "GET", path = USER, token = emu.ACCESS_TOKEN } end
      local results = many.run(e.url, reqs)
      local c = many.count(results)
      assert.is_true((c[429] or 0) >= 1, "some 429s expected, got " .. many.show(c))
      assert.is_true((c[200] or 0) >= 1, "some requests must get through")
      assert.is_true((c[200] or 0) + (c[429] or 0) == 8, "only 200 or 429 expected")
      for _, r in ipairs(results) do
        if r.status == 429 then
          assert.are.equal("TOO_MANY_REQUESTS", r.json and r.json.code, "429 body: " .. r.body)
          assert.are.equal("error", r.json.status)
        end
      end
      local s = e:stats()
      assert.is_true(s.max_in_flight >= 2, "max_in_flight " .. tostring(s.max_in_flight))
      assert.is_true(s.too_many_requests >= c[429], "stats 429 count")
    end)

    it("a rejected lock changes nothing", function()
      e:faults{ latency_ms = 0 }
      local ids, reqs = {}, {}
      for i = 1, 8 do
        ids[i] = org.fresh(e, "Deals")
        reqs[i] = { method = "POST", path = "/crm/v8/Deals/" .. ids[i] .. "/Locking_Information__s",
                    token = emu.ACCESS_TOKEN, body = '{"data":[{"Locked_Reason__s":"burst"}]}' }
      end
      e:faults{ latency_ms = 600 }
      local results = many.run(e.url, reqs)
      e:faults{ latency_ms = 0 }
      local rejected = 0
      for i, r in ipairs(results) do
        local n = #org.locks(e, "Deals", ids[i])
        if r.status == 429 then
          rejected = rejected + 1
          assert.are.equal(0, n, "a 429 lock must not be applied")
        else
          assert.are.equal(201, r.status, r.body)
          assert.are.equal(1, n)
        end
      end
      assert.is_true(rejected >= 1, "the burst must exceed the limit")
    end)

    it("the limit changes at run time through /__emu/faults", function()
      e:faults{ concurrency_limit = 0, latency_ms = 600 } -- 0: no limit
      local reqs = {}
      for i = 1, 6 do reqs[i] = { method = "GET", path = USER, token = emu.ACCESS_TOKEN } end
      local c = many.count(many.run(e.url, reqs))
      assert.are.equal(6, c[200], "without a limit all 6 pass: " .. many.show(c))
      e:faults{ concurrency_limit = 1 }
      c = many.count(many.run(e.url, reqs))
      assert.is_true((c[429] or 0) >= 1, "limit 1 again rejects: " .. many.show(c))
    end)

    it("never limits the admin API", function()
      e:faults{ concurrency_limit = 1, latency_ms = 600 }
      local reqs = {}
      for i = 1, 4 do reqs[i] = { method = "GET", path = USER, token = emu.ACCESS_TOKEN } end
      for i = 5, 8 do reqs[i] = { method = "GET", path = "/__emu/stats" } end
      local results = many.run(e.url, reqs)
      for i = 5, 8 do assert.are.equal(200, results[i].status, "admin call " .. i .. ": " .. results[i].body) end
      local c = many.count(results)
      assert.is_true((c[429] or 0) >= 1, "the CRM calls are still limited: " .. many.show(c))
    end)
  end)

  describe("--credits", function()
    local e
    lazy_setup(function() e = emu.start{ "--seed", "demo", "--credits", "10" } end)
    lazy_teardown(function() if e then e:stop() end end)

    it("adds X-API-CREDITS-REMAINING once half are spent, then answers 429 when none are left", function()
      local seen = {}
      for i = 1, 10 do
        local res = e:req("GET", USER)
        shape.status(res, 200, "call " .. i)
        seen[i] = res.headers["x-api-credits-remaining"]
      end
      assert.is_nil(seen[1], "no header while less than half is spent")
      assert.is_nil(seen[4], "no header while less than half is spent")
      assert.are.equal("0", seen[10], "after 10 of 10 credits")
      assert.is_not_nil(seen[7], "header once half is spent")
      local prev = math.huge
      for i = 1, 10 do
        if seen[i] then
          local n = tonumber(seen[i])
          assert.is_true(n ~= nil and n < prev, "remaining credits decrease: " .. tostring(seen[i]))
          prev = n
        end
      end
      local over = e:req("GET", USER)
      shape.top_error(over, { status = 429, code = "TOO_MANY_REQUESTS" })
      assert.is_nil(over.headers["retry-after"], "Zoho documents no Retry-After header")
    end)
  end)

  describe("--credits-window", function()
    local e
    lazy_setup(function() e = emu.start{ "--seed", "demo", "--credits", "3", "--credits-window", "1" } end)
    lazy_teardown(function() if e then e:stop() end end)

    it("gives the credits back once the rolling window has passed", function()
      for i = 1, 3 do shape.status(e:req("GET", USER), 200, "call " .. i) end
      shape.top_error(e:req("GET", USER), { status = 429, code = "TOO_MANY_REQUESTS" })
      socket.sleep(1.3)
      shape.status(e:req("GET", USER), 200, "after the window")
    end)
  end)

  describe("--random-seed", function()
    it("makes the fault dice repeatable: same seed, same sequence of 500s", function()
      local function run()
        local e = emu.start{ "--seed", "demo", "--fail-rate", "0.5", "--random-seed", "42" }
        local seq = {}
        for i = 1, 24 do seq[i] = e:req("GET", USER).status end
        e:stop()
        return table.concat(seq, ",")
      end
      local a, b = run(), run()
      assert.are.equal(a, b)
      assert.truthy(a:find("500", 1, true) and a:find("200", 1, true), "both outcomes at rate 0.5: " .. a)
    end)
  end)

  describe("faults", function()
    local e
    -- a fixed dice seed: the drop tests below need both halves of the lost-reply coin
    lazy_setup(function() e = emu.start{ "--seed", "demo", "--fail-rate", "1", "--random-seed", "1" } end)
    lazy_teardown(function() if e then e:stop() end end)

    it("--fail-rate 1 answers 500 INTERNAL_ERROR to every API call, admin still works", function()
      for _ = 1, 3 do
        shape.top_error(e:req("GET", USER), { status = 500, code = "INTERNAL_ERROR" })
      end
      assert.is_table(e:stats(), "admin API is not subject to faults")
    end)

    it("a 500 on lock applies nothing", function()
      e:faults{ fail_rate = 0 }
      local id = org.fresh(e, "Deals")
      e:faults{ fail_rate = 1 }
      local res = e:req("POST", "/crm/v8/Deals/" .. id .. "/Locking_Information__s", { body = lock_body("x") })
      shape.top_error(res, { status = 500, code = "INTERNAL_ERROR" })
      e:faults{ fail_rate = 0 }
      assert.are.equal(0, #org.locks(e, "Deals", id))
    end)

    it("fail_rate 0 at run time brings back normal answers", function()
      e:faults{ fail_rate = 0 }
      shape.status(e:req("GET", USER), 200, "after fail_rate 0")
    end)

    it("drop_rate 1 closes the connection with no reply; some drops happen after the change (lost replies)", function()
      e:faults{ fail_rate = 0, drop_rate = 0 }
      local ids = {}
      for i = 1, 16 do ids[i] = org.fresh(e, "Deals") end
      e:faults{ drop_rate = 1 }
      for i = 1, 16 do
        local res, err = e:req("POST", "/crm/v8/Deals/" .. ids[i] .. "/Locking_Information__s",
          { body = lock_body("dropped " .. i) })
        assert.is_nil(res, "drop_rate 1: no reply expected, got " .. shape.show(res))
        assert.is_string(err)
      end
      e:faults{ drop_rate = 0 }
      local applied = 0
      for i = 1, 16 do applied = applied + #org.locks(e, "Deals", ids[i]) end
      assert.is_true(applied >= 1, "some dropped locks must have been applied (lost reply)")
      assert.is_true(applied <= 15, "some dropped locks must not have been applied")
    end)

    it("drop_mode headers: status line and headers, then the connection closes; half applied", function()
      e:faults{ fail_rate = 0, drop_rate = 0 }
      local ids = {}
      for i = 1, 16 do ids[i] = org.fresh(e, "Deals") end
      e:faults{ drop_rate = 1, drop_mode = "headers" }
      for i = 1, 16 do
        local res, err = e:req("POST", "/crm/v8/Deals/" .. ids[i] .. "/Locking_Information__s",
          { body = lock_body("cut " .. i) })
        assert.is_nil(res, "a cut reply must not parse as a response: " .. shape.show(res))
        assert.is_string(err)
      end
      e:faults{ drop_rate = 0, drop_mode = "close" }
      local applied = 0
      for i = 1, 16 do applied = applied + #org.locks(e, "Deals", ids[i]) end
      assert.is_true(applied >= 1 and applied <= 15, "some applied, some not: " .. applied)
    end)

    it("a retried lock after a lost reply answers 201 or already locked; GET shows the first try's reason",
      function()
      e:faults{ fail_rate = 0, drop_rate = 0 }
      local ids = {}
      for i = 1, 12 do ids[i] = org.fresh(e, "Deals") end
      e:faults{ drop_rate = 1 }
      for i = 1, 12 do
        assert.is_nil((e:req("POST", "/crm/v8/Deals/" .. ids[i] .. "/Locking_Information__s",
          { body = lock_body("first try " .. i) })))
      end
      e:faults{ drop_rate = 0 }
      local outcomes = {}
      for i = 1, 12 do
        local res = e:req("POST", "/crm/v8/Deals/" .. ids[i] .. "/Locking_Information__s",
          { body = lock_body("retry " .. i) })
        outcomes[res.status] = (outcomes[res.status] or 0) + 1
        local locks = org.locks(e, "Deals", ids[i])
        assert.are.equal(1, #locks)
        if res.status == 403 then
          shape.top_error(res, { status = 403, code = "NOT_ALLOWED", message = "record is already locked" })
          assert.are.equal("Manual", locks[1].Lock_Source__s)
          assert.are.equal("first try " .. i, locks[1].Locked_Reason__s, "the lost first try landed")
        else
          shape.status(res, 201, "retry of a lock that did not land")
          assert.are.equal("retry " .. i, locks[1].Locked_Reason__s)
        end
      end
      assert.is_true((outcomes[403] or 0) >= 1 and (outcomes[201] or 0) >= 1, "both kinds of lost reply seen")
    end)

    it("a retried unlock after a lost reply answers 200 or relation not found, and the record ends unlocked", function()
      e:faults{ fail_rate = 0, drop_rate = 0 }
      local pairs_ = {}
      for i = 1, 12 do
        local id = org.fresh(e, "Deals")
        local _, lid = org.lock(e, "Deals", id, "to unlock")
        pairs_[i] = { id, lid }
      end
      e:faults{ drop_rate = 1 }
      for _, p in ipairs(pairs_) do
        assert.is_nil((e:req("DELETE", "/crm/v8/Deals/" .. p[1] .. "/Locking_Information__s/" .. p[2])))
      end
      e:faults{ drop_rate = 0 }
      local outcomes = {}
      for _, p in ipairs(pairs_) do
        local res = e:req("DELETE", "/crm/v8/Deals/" .. p[1] .. "/Locking_Information__s/" .. p[2])
        outcomes[res.status] = (outcomes[res.status] or 0) + 1
        if res.status == 400 then
          shape.top_error(res, { status = 400, code = "INVALID_DATA", details = { resource_path_index = 3 } })
        else
          shape.exact_success(res, 200, p[2], "relation removed")
        end
        assert.are.equal(0, #org.locks(e, "Deals", p[1]))
      end
      assert.is_true((outcomes[400] or 0) >= 1 and (outcomes[200] or 0) >= 1, "both kinds of lost reply seen")
    end)

    it("latency from /__emu/faults is visible against a zero-latency request of the same run", function()
      e:faults{ fail_rate = 0, drop_rate = 0, latency_ms = 0 }
      local fast = timed(e, USER)
      e:faults{ latency_ms = 400 }
      local slow, res = timed(e, USER)
      e:faults{ latency_ms = 0 }
      shape.status(res, 200, "slow request")
      assert.is_true(slow > fast + 0.2, ("latency 400 ms: %.3f s vs %.3f s without"):format(slow, fast))
    end)
  end)

  describe("--drop-rate and --latency on the command line", function()
    local e
    lazy_setup(function() e = emu.start{ "--seed", "demo", "--drop-rate", "1", "--latency", "300" } end)
    lazy_teardown(function() if e then e:stop() end end)

    it("drops from the start and is slow from the start", function()
      local res, err = e:req("GET", USER)
      assert.is_nil(res, "no reply expected")
      assert.is_string(err)
      e:faults{ drop_rate = 0 }
      local slow = timed(e, USER)
      e:faults{ latency_ms = 0 }
      local fast = timed(e, USER)
      assert.is_true(slow > fast + 0.15, ("--latency 300: %.3f s vs %.3f s"):format(slow, fast))
    end)
  end)
end)
