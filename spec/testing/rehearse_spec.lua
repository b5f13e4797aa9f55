-- Rehearsal on a copy of an org: `zlock fixture export` from zlock-emu (standing in for a real
-- org), then `zlock run --rehearse` on the fixture plans exactly what a run against the org
-- itself plans, and a real rehearsal changes nothing in the org.
local testing = require "zlock.testing"
local S = require "bulk.support"
local cjson = require "cjson"

local POLICY = "examples/lock_closed_lost.lua"
local function plan_by_record(summary)
  local t = {}
  for _, item in ipairs(summary.plan) do
    t[item.record_id] = { action = item.action, reason = item.reason, why = item.why, outcome = item.outcome }
  end
  return t
end

describe("zlock fixture export and zlock run --rehearse", function()
  local org = testing.describe_emulator()   -- the demo org stands in for a real one
  local fixture = os.tmpname()
  lazy_teardown(function() os.remove(fixture) end)

  it("exports the records a policy sees, their locks and the configuration, and no credential", function()
    local out, code, err = S.zlock(org, { "fixture", "export", "Deals", "--criteria", "(Stage:equals:Closed Lost)",
                                          "--fields", "Deal_Name,Stage,Closing_Date,Amount" })
    assert.equals(0, code, err)
    local f = assert(io.open(fixture, "wb"))
    f:write(out)
    f:close()
    local doc = cjson.decode(out)
    local deals = doc.modules[1]
    assert.equals("Deals", deals.api_name)
    assert.equals("both", deals.config.lock_type)
    local lost, locked = 0, 0
    for _, r in ipairs(deals.records) do
      assert.equals("Closed Lost", r.values.Stage)
      lost = lost + 1
      if r.lock then locked = locked + 1 end
    end
    local st = org:state("Deals")
    local want_locked = 0
    for _, l in ipairs(st.locks) do
      for _, r in ipairs(deals.records) do if r.id == l.record_id then want_locked = want_locked + 1 end end
    end
    assert.is_true(lost > 10)
    assert.equals(want_locked, locked)
    assert.is_true(locked > 0, "the demo org's recent losses carry automatic locks")
    assert.is_nil(out:find(org.access_token, 1, true), "a token went into the fixture")
    assert.is_nil(out:find("1000.zlockemu.demo-refresh-token", 1, true))
    assert.is_nil(out:find("zlock-emu-demo-client-secret", 1, true))
    assert.matches("record data included", err, 1, true)
  end)

  it("a dry rehearsal plans exactly what a dry run against the org plans", function()
    local direct, code = S.zlock_json(org, { "run", POLICY, "--dry-run" })
    assert.equals(0, code)
    local out, code2, err = S.zlock(nil, { "--json", "run", POLICY, "--dry-run", "--rehearse", fixture })
    assert.equals(0, code2, err)
    local rehearsed = cjson.decode(out)
    assert.is_true(#direct.plan > 5)
    assert.same(plan_by_record(direct), plan_by_record(rehearsed))
    assert.same({ direct.selected, direct.matched }, { rehearsed.selected, rehearsed.matched })
  end)

  it("a real rehearsal locks in the emulator, prints the audit, and the org is untouched", function()
    local before = org:state()   -- (the org was just reset: it has answered no API call)
    local out, code, err = S.zlock(nil, { "run", POLICY, "--rehearse", fixture })
    assert.equals(0, code, err)
    assert.matches("locked%s+%d+", out)
    assert.matches("Locks in the rehearsal org (" .. fixture .. ", nothing real was touched)", out, 1, true)
    assert.matches("Deals%s+Manual%s+%d+", out)
    assert.same(before.locks, org:state().locks)
    assert.equals(0, org:api_calls(), "the rehearsal sent requests to the org")
    local c = org:client()   -- and the count does count: one call to the org is one
    c:get("Deals", before.locks[1].record_id)
    c:close()
    assert.equals(1, org:api_calls())
  end)

  it("exports with --coql too: the same records", function()
    local out, code, err = S.zlock(org, { "fixture", "export", "Deals", "--coql",
      "select Deal_Name, Stage, Closing_Date, Owner, Locked__s from Deals where Stage = 'Closed Lost'" })
    assert.equals(0, code, err)
    local by_coql = cjson.decode(out).modules[1].records
    local by_criteria = cjson.decode(S.slurp(fixture)).modules[1].records
    assert.equals(#by_criteria, #by_coql)
  end)

  it("a read that fails exits 1 with the error object under --json, and writes no fixture", function()
    local out, code, err = S.zlock(org, { "--json", "fixture", "export", "Nonexistent_Module", "--fields", "Name" })
    assert.equals(1, code)
    local doc = cjson.decode(out)
    assert.is_string(doc.error.code)
    assert.is_nil(doc.modules)
    assert.matches("fixture export: reading Nonexistent_Module failed", err, 1, true)
  end)

  it("refuses bad usage before any call", function()
    local _, code, err = S.zlock(nil, { "fixture", "export", "Deals" })
    assert.equals(2, code)
    assert.matches("needs --fields", err, 1, true)
    _, code, err = S.zlock(nil, { "get", "Deals", "1", "--rehearse", fixture })
    assert.equals(2, code)
    assert.matches("get does not take --rehearse", err, 1, true)
    _, code, err = S.zlock(nil, { "fixture", "import", "Deals" })
    assert.equals(2, code)
    assert.matches("subcommand export", err, 1, true)
  end)

  it("a fixture the emulator refuses stops the rehearsal with the reason", function()
    local bad = S.tmpfile('{"modules":[{"api_name":"Deals","records":[{"id":"1","values":{"Stagee":"x"}}]}]}')
    finally(function() os.remove(bad) end)
    local _, code, err = S.zlock(nil, { "run", POLICY, "--rehearse", bad })
    assert.equals(2, code)
    assert.matches('unknown field "Stagee"', err, 1, true)
    assert.is_nil(err:find("cli_fixture.lua:", 1, true), "a Lua position leaked into the message")
  end)
end)
