-- A spec for examples/lock_negotiation.lua: deals in Negotiation/Review get a lock whose
-- reason names the deal's owner; already locked deals and other stages are left alone.
local testing = require "zlock.testing"

local HERE = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local POLICY = HERE .. "/../lock_negotiation.lua"

local USERS = {
  { id = "7100000000000000001", name = "Ada Admin", email = "ada@example.com", role = "CEO",
    profile = "Administrator" },
  { id = "7100000000000000002", name = "Sam Sales", email = "sam@example.com", role = "Sales Rep",
    profile = "Standard" },
}

-- owner: index into USERS (0-based, as in fixtures)
local DEALS = {
  { id = "4001", stage = "Negotiation/Review", amount = 5000, owner = 1, lock = true },
  { id = "4002", stage = "Negotiation/Review", amount = 20000, owner = 0, lock = true },
  { id = "4003", stage = "Negotiation/Review", amount = 800, owner = 1, held = "legal review" },
  { id = "4004", stage = "Qualification", amount = 9000, owner = 0 },
  { id = "4005", stage = "Closed Won", amount = 30000, owner = 1 },
  { id = "4006", stage = "Negotiation/Review", amount = 12000, owner = 1, lock = true },
}

local function reason_for(d)
  return ("In negotiation: terms are being agreed. Ask %s before changing this deal.")
    :format(USERS[d.owner + 1].name)
end

local function expected(min_amount)
  local want = {}
  for _, d in ipairs(DEALS) do
    if d.lock and d.amount >= (min_amount or 0) then want[d.id] = reason_for(d) end
    if d.held then want[d.id] = d.held end
  end
  return want
end

local function fixture()
  local records = {}
  for i, d in ipairs(DEALS) do
    records[i] = { id = d.id, Deal_Name = "Deal " .. d.id, Stage = d.stage, Amount = d.amount, owner = d.owner,
                   Closing_Date = testing.date(-30), lock = d.held and { reason = d.held } or nil }
  end
  return { users = USERS, modules = { Deals = {
    config = { lock_type = "manual", locked_for = "all_profiles", restricted_actions = { "update" } },
    records = records } } }
end

describe("lock_negotiation.lua", function()
  local emu = testing.describe_emulator{ seed = fixture() }   -- reset before each test

  it("plans the unlocked Negotiation/Review deals, with the owner's name in the reason", function()
    local s = assert(testing.run_policy(POLICY, { emulator = emu, dry_run = true }))
    local want = expected()
    want["4003"] = nil
    assert.same(want, testing.planned(s))
  end)

  it("locks exactly those", function()
    local s = assert(testing.run_policy(POLICY, { emulator = emu }))
    assert.same({}, s.failures)
    assert.same(expected(), testing.lock_reasons(emu, "Deals"))
  end)

  it("leaves deals under min_amount alone", function()
    assert(testing.run_policy(POLICY, { emulator = emu, params = { min_amount = 10000 } }))
    assert.same(expected(10000), testing.lock_reasons(emu, "Deals"))
  end)

  it("ends the same through faults, an interruption and a rerun with the journal", function()
    local faulty = testing.emulator{ seed = fixture(), fail_rate = 0.15, drop_rate = 0.15, random_seed = 5 }
    local journal = os.tmpname()
    finally(function() faulty:stop(); os.remove(journal) end)
    local s = assert(testing.run_policy(POLICY, { emulator = faulty, journal = journal,
                                                  interrupt = { after = 1, mode = "stop" } }))
    assert.is_true(s.interrupted)
    for _ = 1, 3 do
      s = assert(testing.run_policy(POLICY, { emulator = faulty, journal = journal }))
      if #s.failures == 0 then break end
    end
    assert.same({}, s.failures)
    assert.same(expected(), testing.lock_reasons(faulty, "Deals"))
  end)
end)
