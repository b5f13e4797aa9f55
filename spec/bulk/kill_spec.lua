-- kill -9 of a running `zlock run`, at three different points, then a rerun with the
-- same journal: the final state is exact (every intended lock present once, with its reason;
-- nothing else touched), whatever was in flight when the process died.
local S = require "bulk.support"

local POLICY = "spec/bulk/fixtures/lock_qualification.lua"

local lines = S.lines

describe("kill -9 and resume", function()
  local e
  local reconciled = 0   -- items a rerun found landed by the killed run (informative)

  lazy_setup(function()
    -- ~100 target deals, 100 ms per call, 5 in flight (C engine): a run lasts ~2 s and calls
    -- are always in flight when the kill comes
    e = S.start{ "--records", "Deals=600", "--latency", "100" }
  end)

  lazy_teardown(function()
    if e then e:stop() end
    print(("# kill -9 specs: %d in-flight locks were found landed and reconciled by the reruns"):format(reconciled))
  end)

  local function targets()
    local want = {}
    for _, d in ipairs(S.records(e, "Deals", "Stage")) do
      if d.Stage == "Qualification" then want[d.id] = true end
    end
    return want
  end

  -- Starts the policy, waits for `ready()`, kills it with SIGKILL; returns what the journal held.
  local function run_and_kill(journal, ready)
    local p = S.spawn(e, { "run", POLICY, "--journal", journal, "--no-progress", "--concurrency", "5" })
    assert.is_number(p.pid)
    local reached = S.wait_for(function() return ready() or not S.alive(p.pid) end, 60)
    assert.is_true(reached)
    assert.is_true(S.alive(p.pid), "zlock run ended before the kill point: " .. S.slurp(p.err))
    os.execute("kill -9 " .. p.pid)
    assert.is_true(S.wait_for(function() return not S.alive(p.pid) end, 10))
    os.remove(p.out); os.remove(p.err)
    return lines(journal)
  end

  local function check_exact(want, before)
    local after, by = S.locks(e)
    local n = S.count(want)
    assert.equals(#before + n, #after, "locks before " .. #before .. ", targets " .. n .. ", after " .. #after)
    for id in pairs(want) do
      assert.is_table(by[id], "deal " .. id .. " is not locked")
      assert.equals(1, #by[id])
      assert.equals("Manual", by[id][1].source)
      assert.equals("spec kill " .. id, by[id][1].reason)
    end
  end

  local function finish(journal, want)
    local s, code, err = S.zlock_json(e, { "run", POLICY, "--journal", journal, "--concurrency", "20" })
    assert.equals(0, code, err)
    assert.equals(0, s.counts.failed or 0)
    -- every target is accounted for: done before the kill (skipped) or done now
    assert.equals(S.count(want), (s.counts.skipped or 0) + (s.counts.locked or 0))
    reconciled = reconciled + (s.reconciled or 0)
    return s
  end

  local points = {
    { "as the first lock goes out", function(journal)
        local base = S.route_count(e, "locks.lock")
        return function() return S.route_count(e, "locks.lock") > base or lines(journal) > 0 end
      end },
    { "half way", function(journal, n) return function() return lines(journal) >= n // 2 end end },
    { "near the end", function(journal, n) return function() return lines(journal) >= n - 12 end end },
  }

  for _, point in ipairs(points) do
    it("ends in the exact state after a kill " .. point[1], function()
      e:reset()
      local want, before = targets(), S.locks(e)
      local n = S.count(want)
      assert.is_true(n > 20)
      local journal = os.tmpname()
      os.remove(journal)
      local done = run_and_kill(journal, point[2](journal, n))
      assert.is_true(done < n)
      local s = finish(journal, want)
      assert.equals(done, s.counts.skipped or 0)
      check_exact(want, before)
      -- and a third run changes nothing
      local s3 = finish(journal, want)
      assert.equals(n, s3.counts.skipped)
      check_exact(want, before)
      os.remove(journal)
    end)
  end

  it("ends in the exact state after three kills in a row and a rerun", function()
    e:reset()
    local want, before = targets(), S.locks(e)
    local n = S.count(want)
    local journal = os.tmpname()
    os.remove(journal)
    local marks = {}
    for i, frac in ipairs{ 0.2, 0.5, 0.8 } do
      marks[i] = run_and_kill(journal, function() return lines(journal) >= math.floor(n * frac) end)
    end
    assert.is_true(marks[1] <= marks[2] and marks[2] <= marks[3])
    finish(journal, want)
    check_exact(want, before)
    os.remove(journal)
  end)

  it("ends in the exact state when rerun without the journal (reconciliation alone)", function()
    e:reset()
    local want, before = targets(), S.locks(e)
    local journal = os.tmpname()
    os.remove(journal)
    run_and_kill(journal, function() return lines(journal) >= 10 end)
    local s, code = S.zlock_json(e, { "run", POLICY, "--concurrency", "20" })
    assert.equals(0, code)
    assert.equals(S.count(want), s.counts.locked)   -- earlier locks are recognised as this policy's
    check_exact(want, before)
    os.remove(journal)
  end)
end)
