-- A spec for examples/unlock_stale.lua: manual locks older than N days whose reason starts
-- with a prefix are removed, in every module; newer ones and other reasons stay.
local testing = require "zlock.testing"

local HERE = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local POLICY = HERE .. "/../unlock_stale.lua"
local PARAMS = { prefix = "Quarter close", days = 30 }

-- Locked records: module, id, reason, age of the lock in days, and whether the policy removes it.
local LOCKS = {
  { "Deals", "5001", "Quarter close Q2", 100, true },
  { "Deals", "5002", "Quarter close Q3", 10, false },    -- too recent
  { "Deals", "5003", "legal review", 200, false },       -- another reason
  { "Deals", "5004", "Quarter close Q1", 300, true },
  { "Leads", "6001", "Quarter close Q2", 60, true },
}

local CONFIG = { lock_type = "manual", locked_for = "all_profiles", restricted_actions = { "update" } }

local function fixture()
  local mods = {
    Deals = { config = CONFIG, records = { { id = "5005", Deal_Name = "Not locked", Stage = "Qualification" } } },
    Leads = { config = CONFIG, records = {} },
  }
  for _, l in ipairs(LOCKS) do
    local rec = { id = l[2], lock = { reason = l[3], time = testing.date(l[4]) .. "T12:00:00" } }
    if l[1] == "Deals" then rec.Deal_Name = "Deal " .. l[2] else rec.Last_Name = "Lead " .. l[2] end
    table.insert(mods[l[1]].records, rec)
  end
  return { modules = mods }
end

-- The locks left after a correct run, per module: record id -> reason.
local function remaining(module)
  local left = {}
  for _, l in ipairs(LOCKS) do
    if l[1] == module and not l[5] then left[l[2]] = l[3] end
  end
  return left
end

describe("unlock_stale.lua", function()
  local emu = testing.describe_emulator{ seed = fixture() }   -- reset before each test
  local function run(opts)   -- the policy with PARAMS on `emu`, plus `opts`
    local o = { emulator = emu, params = PARAMS }
    for k, v in pairs(opts or {}) do o[k] = v end
    return assert(testing.run_policy(POLICY, o))
  end

  it("plans exactly the old manual locks with the prefix", function()
    local s = run{ dry_run = true }
    assert.same({ ["5001"] = "unlock", ["5004"] = "unlock", ["6001"] = "unlock" }, testing.planned(s))
    assert.locked(emu, "Deals", "5001")
  end)

  it("removes exactly those", function()
    local s = run()
    assert.same({}, s.failures)
    assert.equals(3, s.counts.unlocked)
    assert.same(remaining("Deals"), testing.lock_reasons(emu, "Deals"))
    assert.same(remaining("Leads"), testing.lock_reasons(emu, "Leads"))
  end)

  it("ends the same through faults, a crash and a rerun", function()
    local faulty = testing.emulator{ seed = fixture(), fail_rate = 0.15, drop_rate = 0.15, random_seed = 9 }
    local journal = os.tmpname()
    finally(function() faulty:stop(); os.remove(journal) end)
    local s = assert(testing.run_policy(POLICY, { emulator = faulty, journal = journal, params = PARAMS,
                                                  interrupt = { after = 1, mode = "crash" } }))
    assert.is_true(s.interrupted)
    for _ = 1, 3 do
      s = assert(testing.run_policy(POLICY, { emulator = faulty, journal = journal, params = PARAMS }))
      if #s.failures == 0 then break end
    end
    assert.same({}, s.failures)
    assert.same(remaining("Deals"), testing.lock_reasons(faulty, "Deals"))
    assert.same(remaining("Leads"), testing.lock_reasons(faulty, "Leads"))
  end)
end)
