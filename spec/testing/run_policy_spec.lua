-- zlock.testing.run_policy: the same summary as `zlock run --json` (dry and real), and
-- interruptions (stop, crash, at random under faults) after which a rerun with the journal
-- leaves exactly the expected locks.
local testing = require "zlock.testing"
local S = require "bulk.support"
local cjson = require "cjson"

local POLICY = "examples/lock_closed_lost.lua"

-- Through JSON, as a consumer of `zlock run --json` sees it.
local function as_json(t) return cjson.decode(cjson.encode(t)) end

local function without(t, ...)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  for _, k in ipairs{ ... } do c[k] = nil end
  return c
end

-- The expected plan, computed from the emulator's records (not from zlock): unlocked Closed
-- Lost deals closed more than `days` days ago, with the template's reason.
local function expected(emu, days)
  local want = {}
  local locked = emu:state("Deals").records.Deals
  local c = emu:client()
  local deals = {}
  for d in c:records("Deals", { fields = { "Stage", "Closing_Date" } }) do deals[#deals + 1] = d end
  c:close()
  for _, d in ipairs(deals) do
    if d.Stage == "Closed Lost" and not locked[d.id] and S.days_since(d.Closing_Date) > days then
      want[d.id] = "Closed Lost on " .. d.Closing_Date .. ": locked by policy lock_closed_lost"
    end
  end
  return want
end

-- Every expected record holds exactly one lock, the policy's, and no other record got one.
local function assert_exact(emu, want, before)
  local by = testing.locks_by_record(emu:state("Deals"))
  for id, reason in pairs(want) do
    assert.equals(1, #(by[id] or {}), "deal " .. id .. " should hold exactly one lock")
    assert.equals(reason, by[id][1].reason)
    assert.equals("Manual", by[id][1].source)
  end
  for id, locks in pairs(by) do
    if not want[id] then
      assert.same(before[id], locks, "deal " .. id .. " was not to be touched")
    end
  end
end

describe("zlock.testing.run_policy", function()
  local emu
  lazy_setup(function() emu = testing.emulator() end)
  lazy_teardown(function() emu:stop() end)
  before_each(function() emu:reset() end)

  it("a dry run returns what `zlock run --json --dry-run` prints, plan included", function()
    local want = expected(emu, 30)
    assert.is_true(S.count(want) > 5)
    local mine = as_json(assert(testing.run_policy(POLICY, { emulator = emu, dry_run = true })))
    local cli, code = S.zlock_json(emu, { "run", POLICY, "--dry-run" })
    assert.equals(0, code)
    assert.same(without(cli, "elapsed", "rate"), without(mine, "elapsed", "rate"))
    assert.equals(S.count(want), #mine.plan)
    for _, item in ipairs(mine.plan) do
      assert.equals(want[item.record_id], item.reason)
      assert.equals("planned", item.outcome)
      assert.equals("lock", item.action)
    end
    assert.same({}, testing.locks_by_record(emu:state("Deals"))[next(want)] or {})
  end)

  it("a real run returns what `zlock run --json` prints, and locks the same records", function()
    local other = testing.emulator()   -- the same deterministic demo org
    finally(function() other:stop() end)
    local want = expected(emu, 30)
    local mine = as_json(assert(testing.run_policy(POLICY, { emulator = emu, params = { days = 30 } })))
    local cli, code = S.zlock_json(other, { "run", POLICY, "--param", "days=30" })
    assert.equals(0, code)
    -- timing and engine statistics differ from run to run; `zlock run --json` has no plan on a real run
    local volatile = { "elapsed", "rate", "engine", "plan" }
    assert.same(without(cli, table.unpack(volatile)), without(mine, table.unpack(volatile)))
    assert.equals(S.count(want), mine.counts.locked)
    local function reasons(e)
      local t = {}
      for id, locks in pairs(testing.locks_by_record(e:state("Deals"))) do t[id] = locks[1].reason end
      return t
    end
    assert.same(reasons(emu), reasons(other))
    for _, item in ipairs(mine.plan) do assert.equals("locked", item.outcome) end
  end)

  it("refuses a bad parameter as the command does, before any call", function()
    local s, err = testing.run_policy(POLICY, { emulator = emu, params = { days = "many" } })
    assert.is_nil(s)
    assert.matches("days must be a number", err)
    for route in pairs(emu:stats().requests) do assert.equals("admin", route) end
  end)

  it("refuses an interruption where nothing would be interrupted", function()
    assert.has_error(function()
      testing.run_policy(POLICY, { emulator = emu, dry_run = true, interrupt = { after = 1 } })
    end, "run_policy: interrupt needs a run that makes calls (not a dry run, not a report)")
    assert.has_error(function()
      testing.run_policy(POLICY, { emulator = emu, interrupt = { after = 1, mode = "pause" } })
    end, 'run_policy: interrupt.mode must be "stop" or "crash"')
  end)

  it("takes a policy table as well as a file", function()
    local p = dofile(POLICY)
    local a = as_json(assert(testing.run_policy(p, { emulator = emu, dry_run = true })))
    local b = as_json(assert(testing.run_policy(POLICY, { emulator = emu, dry_run = true })))
    assert.same(without(a, "elapsed", "rate"), without(b, "elapsed", "rate"))
  end)

  -- The example skips deals that are already locked; this variant does not, so a rerun must
  -- rely on the journal (items done) and on lock reconciliation (items whose call landed but
  -- whose answer was lost with the process).
  local function journal_only()
    local p = dofile(POLICY)
    p.where = function(deal, ctx)
      local age = ctx.days_since(deal.Closing_Date)
      return age > ctx.params.days, "closed " .. age .. " days ago"
    end
    return p
  end

  for _, mode in ipairs{ "stop", "crash" } do
    it("interrupted after 4 items (" .. mode .. "), then resumed with the journal: exactly the plan", function()
      local journal = os.tmpname()
      finally(function() os.remove(journal) end)
      local want = expected(emu, 30)
      local before = testing.locks_by_record(emu:state("Deals"))
      local p = journal_only()
      local first = assert(testing.run_policy(p, { emulator = emu, journal = journal, concurrency = 2,
                                                    interrupt = { after = 4, mode = mode } }))
      assert.is_true(first.interrupted)
      local recorded = first.counts.locked or 0
      if mode == "stop" then
        assert.equals(4, recorded)   -- the 4 submitted items finished and were journaled
      else
        -- the items in flight (up to 2) are lost with the "process"; nearly always one at least
        assert.is_true(recorded <= 4)
      end
      local by = testing.locks_by_record(emu:state("Deals"))
      local applied = 0
      for id in pairs(want) do if by[id] then applied = applied + 1 end end
      assert.equals(4, applied)   -- every submitted call landed, recorded or not
      local second = assert(testing.run_policy(p, { emulator = emu, journal = journal, concurrency = 2 }))
      assert.is_false(second.interrupted)
      assert.same({}, second.failures)
      assert.equals(recorded, second.counts.skipped or 0)
      -- the lost ones are sent again: Zoho says "already locked", the lock has our reason: ours
      assert.equals(4 - recorded, second.reconciled)
      assert.equals(S.count(want) - recorded, second.counts.locked)
      assert_exact(emu, want, before)
    end)
  end

  it("the example policy itself, interrupted and rerun, skips what is locked and locks the rest", function()
    local journal = os.tmpname()
    finally(function() os.remove(journal) end)
    local want = expected(emu, 30)
    local before = testing.locks_by_record(emu:state("Deals"))
    local first = assert(testing.run_policy(POLICY, { emulator = emu, journal = journal,
                                                       interrupt = { after = 5, mode = "crash" } }))
    assert.is_true(first.interrupted)
    local second = assert(testing.run_policy(POLICY, { emulator = emu, journal = journal }))
    assert.equals(S.count(want) - 5, second.matched)
    assert.equals(S.count(want) - 5, second.counts.locked)
    assert_exact(emu, want, before)
  end)

  it("interrupted at random under faults, resumed until done: still exactly the plan", function()
    local faulty = testing.emulator{ fail_rate = 0.1, drop_rate = 0.1, random_seed = 7 }
    finally(function() faulty:stop() end)
    local journal = os.tmpname()
    finally(function() os.remove(journal) end)
    local want = expected(faulty, 30)
    local before = testing.locks_by_record(faulty:state("Deals"))
    local runs, s = 0
    repeat
      runs = runs + 1
      local interrupt = runs < 4 and { chance = 0.15, random_seed = runs, mode = "crash" } or nil
      s = assert(testing.run_policy(POLICY, { emulator = faulty, journal = journal, concurrency = 3,
                                              interrupt = interrupt }))
    until (not s.interrupted and #s.failures == 0) or runs >= 8
    assert.is_true(runs >= 2, "the random interruption never happened")
    assert.equals(0, #s.failures)
    assert.is_true(faulty:stats().faults_500 + faulty:stats().drops > 0, "no fault was injected")
    assert_exact(faulty, want, before)
  end)
end)
