-- Org fixtures: a Lua table (or JSON file) in, the same org out of the emulator's state file,
-- and the same org again when that file seeds a second emulator. Mistakes are refused with
-- their place.
local testing = require "zlock.testing"
local cjson = require "cjson"
local slurp = require("bulk.support").slurp

local ORG = {
  users = {
    { id = "7000000000000000001", name = "Ada Admin", email = "ada@example.com", role = "CEO",
      profile = "Administrator" },
    { id = "7000000000000000002", name = "Sam Sales", email = "sam@example.com", role = "Sales Rep",
      profile = "Standard" },
  },
  modules = {
    Deals = {
      fields = { { api_name = "Region__c", type = "picklist", picklist = { "EMEA", "APAC" } } },
      config = { lock_type = "manual", locked_for = "all_profiles", restricted_actions = { "update", "delete" },
                 excluded_fields = {}, locking_rules = {} },
      records = {
        { id = "5843104000100000001", Deal_Name = "Acme renewal", Stage = "Closed Lost", Amount = 1200,
          Closing_Date = "2026-01-05", Region__c = "EMEA", owner = 1, created = "2025-12-01T09:30:00" },
        { id = "5843104000100000002", Deal_Name = "Globex pilot", Stage = "Negotiation/Review", Amount = 5000,
          Closing_Date = "2026-10-20", owner = 0,
          lock = { id = "5843104000100000099", reason = "legal review", locked_by = 1, time = "2026-10-21T08:00:00" } },
      },
    },
  },
}

describe("org fixtures", function()
  it("round-trip: Lua table -> emulator -> state file -> a second emulator, the same org", function()
    local path = os.tmpname()
    os.remove(path)
    local emu = testing.emulator{ seed = ORG, state = path }
    local first = emu:state()
    emu:stop()
    local doc = cjson.decode(slurp(path))
    assert.equals("zlock-emu-state", doc.format)
    assert.same({ "Ada Admin", "Sam Sales" }, { doc.users[1].name, doc.users[2].name })
    local deals
    for _, m in ipairs(doc.modules) do if m.api_name == "Deals" then deals = m end end
    local recs = {}
    for _, r in ipairs(deals.records) do recs[r.id] = r end
    local a, b = recs["5843104000100000001"], recs["5843104000100000002"]
    assert.same({ Deal_Name = "Acme renewal", Stage = "Closed Lost", Amount = "1200", Closing_Date = "2026-01-05",
                  Region__c = "EMEA" }, a.values)
    assert.equals(1, a.owner)
    assert.equals(1764581400, a.created)   -- "2025-12-01T09:30:00": a fixture's times are UTC, whatever TZ says
    assert.is_nil(a.lock)
    assert.same({ "5843104000100000099", "Manual", "legal review", 1 },
      { b.lock.id, b.lock.source, b.lock.reason, b.lock.locked_by })
    assert.equals("manual", deals.config.lock_type)
    local fields = {}
    for _, f in ipairs(deals.fields) do fields[f.api_name] = f end
    assert.same({ "EMEA", "APAC" }, fields.Region__c.picklist)

    local again = testing.emulator{ seed = path }
    local second = again:state()
    local c = again:client()
    local lock = assert(c:get("Deals", "5843104000100000002", "5843104000100000099"))
    c:close()
    again:stop()
    os.remove(path)
    assert.same(first.locks, second.locks)
    assert.same(first.records, second.records)
    assert.equals("legal review", lock.Locked_Reason__s)
    assert.equals("Sam Sales", lock.Locked_By__s.name)
  end)

  it("a JSON file fixture seeds the emulator as the same table does", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    f:write(testing.fixture_json(ORG))
    f:close()
    local from_file = testing.emulator{ seed = path }
    local from_table = testing.emulator{ seed = ORG }
    local a, b = from_file:state(), from_table:state()
    from_file:stop()
    from_table:stop()
    os.remove(path)
    assert.same(a, b)
    assert.equals(2, a.counts.Deals.records)
    assert.equals(1, #a.locks)
  end)

  describe("refuses, naming the place", function()
    local function records(...) return { modules = { Deals = { records = { ... } } } } end
    for _, case in ipairs{
      { "an unknown top-level key", { moduls = {} }, 'document: unknown key "moduls"' },
      { "an unknown key of a module", { modules = { Deals = { record = {} } } }, 'modules[0]: unknown key "record"' },
      { "an unknown key of a lock", records{ id = "1", lock = { reasn = "x" } },
        'modules[0] (Deals).records[0].lock: unknown key "reasn"' },
      { "a lock source that is neither Manual nor Automatic", records{ id = "1", lock = { source = "manual" } },
        '"manual" is neither "Manual" nor "Automatic"' },
      { "a field the module does not have", records{ id = "1", Stagee = "Closed Lost" },
        'module Deals: record 0: unknown field "Stagee"' },
      { "a value of the wrong type", records{ id = "1", Amount = true },
        "field Amount: value of the wrong type for a currency field" },
      { "an owner that is not a user", records{ id = "1", owner = 9 }, "owner 9 is not a user index" },
      { "a date that is not a date", records{ id = "1", created = "yesterday" },
        "created/modified is neither epoch seconds nor YYYY-MM-DD" },
    } do
      it(case[1], function()
        local ok, err = pcall(testing.emulator, { seed = case[2] })
        assert.is_false(ok, "the fixture was accepted")
        assert.matches(case[3], err, 1, true)
      end)
    end
  end)
end)
