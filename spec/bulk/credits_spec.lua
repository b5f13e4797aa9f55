-- A bulk run meets the end of the org's API credits (a 429 with X-API-CREDITS-REMAINING: 0):
-- it stops sending, reports every item not done with CREDITS_EXHAUSTED (none vanishes), and a
-- rerun with the same journal once credits are back finishes exactly. On the C engine and on
-- the sequential one (the runner itself halts). Against zlock-emu's --credits, real sockets.
local S = require "bulk.support"
local engine_seq = require "zlock.engine_seq"
local api_requests = require("core.support").api_requests   -- Zoho's routes only, not /__emu/

local N, CREDITS = 150, 40

-- Locks `ids` through c:bulk with `journal`; returns the summary and on_result's items by id.
local function lock_all(c, ids, reason, jf, engine)
  local seen = {}
  local run = c:bulk{ journal = jf, engine = engine, concurrency = 8,
                      on_result = function(item, _, err)
                        seen[item.record_id] = { outcome = item.outcome, code = err and err.code }
                      end }
  for _, id in ipairs(ids) do run:lock("Deals", id, reason) end
  return run:finish(), seen
end

-- Every id holds exactly one lock with `reason` when `want` says so, none of ours otherwise.
local function assert_state(e, ids, reason, want)
  local _, by = S.locks(e)
  local n = 0
  for _, id in ipairs(ids) do
    local ours = 0
    for _, l in ipairs(by[id] or {}) do if l.reason == reason then ours = ours + 1 end end
    assert.equals(want(id) and 1 or 0, ours, "locks of ours on " .. id)
    n = n + ours
  end
  return n
end

local function scenario(engine_name, make_engine)
  it(("%s engine: stops at the spent credits, reports the rest, and a rerun finishes exactly"):format(engine_name),
    function()
      local e = S.start{ "--records", "Deals=" .. (N + 50) }
      local jf = os.tmpname()
      local ok, why = pcall(function()
        local c = S.client(e)
        local ids = S.unlocked(e, "Deals", N)
        assert.equals(N, #ids)
        local reason = "credits spec " .. engine_name
        e:faults{ credits = CREDITS, credits_window = 3600 }
        local before = api_requests(e)
        local sum, seen = lock_all(c, ids, reason, jf, make_engine and make_engine(c))
        local sent = api_requests(e) - before

        -- every item is accounted for: locked, or failed with CREDITS_EXHAUSTED
        local locked = sum.counts.locked or 0
        assert.equals(N, locked + sum.failed)
        assert.is_true(locked > 0 and locked <= CREDITS, locked .. " locked with " .. CREDITS .. " credits")
        assert.equals(sum.failed, #sum.failures)
        for _, f in ipairs(sum.failures) do assert.equals("CREDITS_EXHAUSTED", f.code, f.record_id) end
        for _, id in ipairs(ids) do
          local s = assert(seen[id], "no on_result for " .. id)
          assert.is_true(s.outcome == "locked" or s.code == "CREDITS_EXHAUSTED", id .. ": " .. tostring(s.outcome))
        end
        assert.equals("CREDITS_EXHAUSTED", sum.halted and sum.halted.code)
        -- it stopped sending: the credits, plus at most what was in flight when the first 429 came
        assert.is_true(sent <= CREDITS + 8 + 2, sent .. " requests for " .. CREDITS .. " credits")
        if engine_name == "sequential" then assert.equals(CREDITS + 1, sent) end
        -- spent credits are not the concurrency limit: the C engine's window neither cut nor counted them
        if engine_name == "C" then assert.equals(0, sum.engine.throttled) end
        assert.equals(locked, assert_state(e, ids, reason, function(id) return seen[id].outcome == "locked" end))

        -- credits come back: the same journal skips what is done and locks the rest, once each
        e:faults{ credits = 0 }
        local sum2 = lock_all(c, ids, reason, jf, make_engine and make_engine(c))
        assert.equals(locked, sum2.skipped)
        assert.equals(N - locked, sum2.counts.locked)
        assert.equals(0, sum2.failed)
        assert.is_nil(sum2.halted)
        assert.equals(N, assert_state(e, ids, reason, function() return true end))
      end)
      os.remove(jf)
      e:stop()
      assert(ok, why)
    end)
end

describe("bulk run when the API credits run out", function()
  scenario("C")
  scenario("sequential", function(c) return engine_seq.new(c) end)

  it("zlock run says why it stopped, in one line for all the items that met it, and a rerun does the rest", function()
    local e = S.start{}
    local jf = os.tmpname()
    os.remove(jf)
    local ok, why = pcall(function()
      local plan = S.zlock_json(e, { "run", "examples/lock_closed_lost.lua", "--dry-run" })
      local want = plan.counts.planned
      assert.is_true(want > 10, "the demo org plans " .. tostring(want) .. " locks: the spec proves nothing")
      e:faults{ credits = 10, credits_window = 3600 }
      local out, code, err = S.zlock(e, { "run", "examples/lock_closed_lost.lua", "--journal", jf })
      assert.equals(1, code, out .. err)
      assert.truthy(out:find("Stopped sending after CREDITS_EXHAUSTED", 1, true), out)
      local n = tonumber(out:match("(%d+) items? failed with it"))
      assert.truthy(n and n > 0, out)
      local _, lines = out:gsub("CREDITS_EXHAUSTED", "")
      assert.equals(1, lines, "one line names the error, not one per item:\n" .. out)
      assert.truthy(out:find("rerun with the same --journal", 1, true), out)
      local locked = tonumber(out:match("locked%s+(%d+)"))
      assert.equals(want, locked + n)
      e:faults{ credits = 0 }
      local s2, code2 = S.zlock_json(e, { "run", "examples/lock_closed_lost.lua", "--journal", jf })
      assert.equals(0, code2)
      -- the policy selects unlocked deals only: the rerun matches exactly those not done
      assert.equals(n, s2.matched)
      assert.equals(n, s2.counts.locked)
      assert.equals(0, #s2.failures)
      local after = S.zlock_json(e, { "run", "examples/lock_closed_lost.lua", "--dry-run" })
      assert.equals(0, after.counts.planned or 0, "every deal of the policy is locked now")
    end)
    os.remove(jf)
    e:stop()
    assert(ok, why)
  end)

  it("zlock lock says CREDITS_EXHAUSTED at once and exits 1", function()
    local e = S.start{}
    local ok, why = pcall(function()
      local id = S.unlocked(e, "Deals", 1)[1]
      e:faults{ credits = 1, credits_window = 3600 }
      local _, code0 = S.zlock(e, { "get", "Deals", id })
      assert.equals(0, code0)
      local before = api_requests(e)
      local out, code, err = S.zlock(e, { "lock", "Deals", id, "--reason", "credits spec cli" })
      assert.equals(1, code, out .. err)
      assert.truthy((out .. err):find("CREDITS_EXHAUSTED", 1, true), out .. err)
      assert.equals(1, api_requests(e) - before, "one request, no retry")
    end)
    e:stop()
    assert(ok, why)
  end)
end)
