-- A spec for examples/lock_closed_lost.lua, as you would write one for your own policy:
-- a handful of deals written down, a dry run that plans exactly the right ones, a real run that
-- locks exactly those (each once), and the same end state through faults, a crash and a rerun.
--
--   busted examples/spec          (zlock installed; zlock-emu comes with it)
local testing = require "zlock.testing"

local HERE = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local POLICY = HERE .. "/../lock_closed_lost.lua"

-- Deals by age of their closing date; the policy (days = 30) locks Closed Lost deals older
-- than 30 days that are not locked yet.
local DEALS = {
  { id = "3001", stage = "Closed Lost", age = 400, lock = true },
  { id = "3002", stage = "Closed Lost", age = 45, lock = true },
  { id = "3003", stage = "Closed Lost", age = 10 },                           -- too recent
  { id = "3004", stage = "Closed Won", age = 400 },                           -- not lost
  { id = "3005", stage = "Closed Lost", age = 90, held = "audit hold" },      -- already locked
  { id = "3006", stage = "Closed Lost", age = 200, lock = true },
  { id = "3007", stage = "Negotiation/Review", age = 100 },
  { id = "3008", stage = "Closed Lost", age = 60, lock = true },
  { id = "3009", stage = "Closed Lost", age = 35, lock = true },
  { id = "3010", stage = "Closed Lost", age = 700, lock = true },
}

local function fixture()
  local records = {}
  for i, d in ipairs(DEALS) do
    records[i] = { id = d.id, Deal_Name = "Deal " .. d.id, Stage = d.stage, Amount = 1000,
                   Closing_Date = testing.date(d.age),
                   lock = d.held and { reason = d.held, time = testing.date(5) } or nil }
  end
  return { modules = { Deals = {
    config = { lock_type = "manual", locked_for = "all_profiles", restricted_actions = { "update" } },
    records = records } } }
end

-- The locks the policy makes with `days` (default 30): record id -> lock reason.
local function planned(days)
  local want = {}
  for _, d in ipairs(DEALS) do
    if d.lock and d.age > (days or 30) then
      want[d.id] = "Closed Lost on " .. testing.date(d.age) .. ": locked by policy lock_closed_lost"
    end
  end
  return want
end

-- What the org holds after a correct run: the policy's locks and the ones it left alone.
local function expected()
  local want = planned()
  for _, d in ipairs(DEALS) do
    if d.held then want[d.id] = d.held end
  end
  return want
end

describe("lock_closed_lost.lua", function()
  local emu = testing.describe_emulator{ seed = fixture() }   -- reset before each test

  it("plans exactly the Closed Lost deals closed more than 30 days ago, and changes nothing", function()
    local s = assert(testing.run_policy(POLICY, { emulator = emu, dry_run = true }))
    assert.same(planned(), testing.planned(s))
    assert.same({ ["3005"] = "audit hold" }, testing.lock_reasons(emu, "Deals"))
    assert.equals(0, emu:api_calls("locks.lock"))
  end)

  it("locks exactly those, each once, and leaves the other locks alone", function()
    local s = assert(testing.run_policy(POLICY, { emulator = emu }))
    assert.same({}, s.failures)
    assert.equals(6, s.counts.locked)
    assert.equals(6, emu:api_calls("locks.lock"))   -- one lock call per deal, none twice
    assert.same(expected(), testing.lock_reasons(emu, "Deals"))
    assert.locked(emu, "Deals", "3009", "Closed Lost on " .. testing.date(35) .. ": locked by policy lock_closed_lost")
    assert.is_not.locked(emu, "Deals", "3003")
  end)

  it("takes the age from --param days", function()
    local s = assert(testing.run_policy(POLICY, { emulator = emu, dry_run = true, params = { days = 100 } }))
    assert.same(planned(100), testing.planned(s))
    assert.equals(3, #s.plan)
  end)

  it("ends the same through 500s, lost replies, a crash and reruns with the journal", function()
    local faulty = testing.emulator{ seed = fixture(), fail_rate = 0.15, drop_rate = 0.15, random_seed = 3 }
    local journal = os.tmpname()
    finally(function() faulty:stop(); os.remove(journal) end)
    local s = assert(testing.run_policy(POLICY, { emulator = faulty, journal = journal, concurrency = 3,
                                                  interrupt = { after = 3, mode = "crash" } }))
    assert.is_true(s.interrupted)
    for _ = 1, 3 do   -- failed items are tried again by a rerun, as `zlock run` with --journal does
      s = assert(testing.run_policy(POLICY, { emulator = faulty, journal = journal, concurrency = 3 }))
      if #s.failures == 0 then break end
    end
    assert.same({}, s.failures)
    assert.same(expected(), testing.lock_reasons(faulty, "Deals"))
    local stats = faulty:stats()
    assert.is_true(stats.faults_500 + stats.drops > 0, "no fault was injected")
  end)
end)
