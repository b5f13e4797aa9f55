-- A retry budget counts only the operation's own requests: the GETs that check whether a lost
-- lock landed do not use up `max_attempts`. With 15% of calls answered 500 and 5 attempts, an
-- item fails only when five POSTs in a row fail (0.15^5 * 2,500: 0.19 items per run; at most 2
-- in 999 runs of 1,000), never because its reconciliation reads took the places of its POSTs
-- (when they did, 5 to 14 items failed per run). Against zlock-emu, real sockets.
local S = require "bulk.support"

describe("a bulk run under --fail-rate 0.15 with max_attempts = 5", function()
  it("locks 2,500 records, failing only items whose five POSTs all failed", function()
    local e = S.start{ "--records", "Deals=2600", "--fail-rate", "0.15" }
    local ok, why = pcall(function()
      local c = S.client(e, { retries = { max_attempts = 5, base_delay = 0.001, max_delay = 0.01 } })
      local ids = S.unlocked(e, "Deals", 2500)
      assert.equals(2500, #ids)
      local reason = "retry budget spec"
      local run = c:bulk{ concurrency = 16 }
      for _, id in ipairs(ids) do run:lock("Deals", id, reason) end
      local s = run:finish()
      local desc = {}
      for i = 1, math.min(3, #s.failures) do desc[#desc + 1] = tostring(s.failures[i].err) end
      print(("# retry budget: %d of 2500 items failed, %d reconciled"):format(s.failed, s.reconciled))
      assert.is_true(s.failed <= 2, s.failed .. " failed: " .. table.concat(desc, "; "))
      for _, f in ipairs(s.failures) do assert.equals("INTERNAL_ERROR", f.code) end
      assert.equals(2500 - s.failed, s.counts.locked)
      -- 2,500 first POSTs alone meet about 375 faults (sd ~18); retries and reads add more
      assert.is_true(e:stats().faults_500 >= 300, "the faults did not happen: the spec proves nothing")
      local _, by = S.locks(e)
      local failed = S.set(s.failures, "record_id")
      for _, id in ipairs(ids) do
        if not failed[id] then assert.equals(1, #by[id], "locks on " .. id) end
      end
      c:close()
    end)
    e:stop()
    assert(ok, why)
  end)
end)
