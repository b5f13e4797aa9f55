-- A spec for examples/export_locks_csv.lua: one CSV row per lock of the org, every module,
-- read-only, and complete even when the org answers some calls with errors.
local testing = require "zlock.testing"

local HERE = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local POLICY = HERE .. "/../export_locks_csv.lua"

local CONFIG = { lock_type = "manual", locked_for = "all_profiles", restricted_actions = { "update" } }

local function fixture()
  return { modules = {
    Deals = { config = CONFIG, records = {
      { id = "8001", Deal_Name = "Acme, Inc. renewal", lock = { reason = "legal review", time = testing.date(3) } },
      { id = "8002", Deal_Name = "Globex pilot" },
      { id = "8003", Deal_Name = "Initech", lock = { reason = 'says "hold"', time = testing.date(40) } } } },
    Leads = { config = CONFIG, records = {
      { id = "9001", Last_Name = "Nakamura", lock = { reason = "GDPR request", time = testing.date(9) } } } } } }
end

-- Runs the export; returns its lines (header first).
local function export(emu)
  local lines = {}
  local out = { write = function(self, ...)
    for _, s in ipairs{ ... } do lines[#lines + 1] = s end
    return self
  end }
  local s = assert(testing.run_policy(POLICY, { emulator = emu, out = out }))
  local text = table.concat(lines)
  local rows = {}
  for line in text:gmatch("([^\n]*)\n") do rows[#rows + 1] = line end
  return rows, s
end

local function contains(rows, record_id, reason)
  for _, r in ipairs(rows) do
    if r:find("," .. record_id .. ",", 1, true) and r:find(reason, 1, true) then return true end
  end
  return false
end

describe("export_locks_csv.lua", function()
  it("writes the header and one row per lock, quoting commas and quotes, and changes nothing", function()
    local emu = testing.emulator{ seed = fixture() }
    finally(function() emu:stop() end)
    local before = emu:state()
    local rows, s = export(emu)
    assert.equals("module,record_id,record_name,lock_id,source,locked_time,locked_by,reason", rows[1])
    assert.equals(4, #rows)                       -- header + 3 locks
    assert.equals(3, s.reported)
    assert.is_true(contains(rows, "8001", "legal review"))
    assert.is_true(contains(rows, "8001", '"Acme, Inc. renewal"'))
    assert.is_true(contains(rows, "8003", '"says ""hold"""'))
    assert.is_true(contains(rows, "9001", "GDPR request"))
    assert.is_false(contains(rows, "8002", ""))
    assert.same(before.locks, emu:state().locks)
  end)

  it("is complete when the org answers some calls with 500s", function()
    local faulty = testing.emulator{ seed = fixture(), fail_rate = 0.2, random_seed = 4 }
    finally(function() faulty:stop() end)
    local rows, s = export(faulty)
    assert.same({}, s.failures)
    assert.equals(4, #rows)
    assert.is_true(faulty:stats().faults_500 > 0, "no fault was injected")
  end)
end)
