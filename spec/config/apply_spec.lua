-- Configuration as code against zlock-emu: plan, apply (idempotent), export to an empty org,
-- and `zlock config get|apply|export` run as a real process.
local S = require "bulk.support"
local cjson = require "cjson"

local DESIRED = {
  Accounts = {
    lock_type = "both",
    restricted_actions = { "update", "delete" },
    excluded_fields = { "Description" },
    locking_rules = {
      { name = "Spec holdings", lock_existing_records = false,
        criteria = { comparator = "equal", field = { api_name = "Account_Name" }, value = "Spec Holdings" } },
    },
  },
  Leads = { lock_type = "both", locking_rules = {
    { name = "Junk leads",
      criteria = { comparator = "equal", field = { api_name = "Lead_Status" }, value = "Junk Lead" } },
  } },
  Vendors = false,
}

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local function by_module(p)
  local t = {}
  for _, s in ipairs(p.steps) do t[s.module] = s end
  return t
end

describe("configuration as code", function()
  local e, c
  local cp = require "zlock.config"

  before_each(function()
    e = S.start()
    c = S.client(e)
  end)
  after_each(function()
    if c then c:close() end
    if e then e:stop() end
  end)

  it("plans module by module and rule by rule, and the plan changes nothing", function()
    local before = cjson.encode(c:lock_config("Leads"))
    local p = assert(cp.plan(c, DESIRED))
    local s = by_module(p)
    assert.equals(2, p.changes)
    assert.equals("create", s.Accounts.action)
    assert.equals("update", s.Leads.action)
    assert.equals("none", s.Vendors.action)
    local f = s.Leads.fields[1]
    assert.same({ field = "lock_type", from = "manual", to = "both" }, f)
    assert.equals(1, #s.Leads.rules)
    assert.equals("add", s.Leads.rules[1].action)
    assert.equals("Junk leads", s.Leads.rules[1].name)
    assert.is_false(c:lock_config("Accounts"), "plan created nothing")
    assert.equals(before, cjson.encode(c:lock_config("Leads")), "plan changed nothing")
  end)

  it("applies, reads back what the file says, and a second apply does nothing", function()
    local r = assert(cp.apply(c, DESIRED))
    assert.equals(2, r.applied)
    assert.equals(0, r.failed)
    local acc = assert(c:lock_config("Accounts"))
    assert.equals("both", acc.lock_type)
    assert.equals("Description", acc.excluded_fields[1].api_name)
    assert.equals("Spec holdings", acc.locking_rules[1].name)
    assert.equals("Spec Holdings", acc.locking_rules[1].criteria.value)
    local leads = assert(c:lock_config("Leads"))
    assert.equals("both", leads.lock_type)
    assert.equals("Junk leads", leads.locking_rules[1].name)

    local before = e:stats().total
    local again = assert(cp.apply(c, DESIRED))
    assert.equals(0, again.changes)
    assert.equals(0, again.applied)
    -- one GET per module described, no write (and the stats call itself)
    assert.equals(3 + 1, e:stats().total - before)
  end)

  it("changes and deletes rules by name, and deletes a configuration described as false", function()
    assert(cp.apply(c, DESIRED))
    local old_id = c:lock_config("Accounts").locking_rules[1].id
    local changed = { Accounts = { locking_rules = {
      { name = "Spec holdings",
        criteria = { comparator = "equal", field = { api_name = "Account_Name" }, value = "Other" } },
      { name = "Second", criteria = { comparator = "equal", field = { api_name = "Account_Name" }, value = "Two" } },
    } }, Leads = { lock_type = "manual", locking_rules = {} }, Deals = false }
    local p = assert(cp.plan(c, changed))
    local s = by_module(p)
    assert.equals("update", s.Accounts.action)
    assert.equals(0, #s.Accounts.fields, "fields not named are left alone")
    assert.equals("change", s.Accounts.rules[1].action)
    assert.equals("criteria", s.Accounts.rules[1].fields[1].field)
    assert.equals("add", s.Accounts.rules[2].action)
    assert.equals("delete", s.Leads.rules[1].action)
    assert.same({ field = "lock_type", from = "both", to = "manual" }, s.Leads.fields[1])
    assert.equals("delete", s.Deals.action)
    local r = assert(cp.apply(c, p))
    assert.equals(0, r.failed)
    local rules = c:lock_config("Accounts").locking_rules
    assert.equals(2, #rules)
    assert.equals(old_id, rules[1].id, "a changed rule keeps its id")
    assert.equals("Other", rules[1].criteria.value)
    assert.is_false(c:lock_config("Deals"))
    assert.equals(0, assert(cp.plan(c, changed)).changes)
  end)

  it("a failed module does not stop the others and is reported with Zoho's error", function()
    local r = assert(cp.apply(c, { Accounts = { lock_type = "sometimes" }, Contacts = { lock_type = "manual" } }))
    assert.equals(1, r.failed)
    assert.equals(1, r.applied)
    local s = by_module(r)
    assert.equals("INVALID_DATA", s.Accounts.error.code)
    assert.is_true(s.Contacts.ok)
    assert.equals("manual", c:lock_config("Contacts").lock_type)
  end)

  it("refuses a bad description before any request", function()
    local before = e:stats().total
    for _, bad in ipairs{ { Deals = { lock_typ = "manual" } }, { ["Bad Name"] = false }, { Deals = "manual" },
                          { Deals = { locking_rules = { { criteria = "(Stage:equals:x)" } } } },
                          { Deals = { locking_rules = { { name = "a" }, { name = "a" } } } },
                          { Deals = { restricted_actions = "update" } } } do
      local p, err = cp.plan(c, bad)
      assert.is_nil(p)
      assert.equals("INVALID_ARGUMENT", err.code)
    end
    assert.equals(1, e:stats().total - before)
  end)

  it("export then apply to an empty org reproduces the configuration", function()
    assert(cp.apply(c, DESIRED))
    local exported = assert(cp.export(c))
    assert.is_truthy(exported.Deals and exported.Accounts and exported.Leads)
    assert.is_nil(exported.Vendors, "modules without a configuration are left out")
    local path = os.tmpname() .. ".lua"
    write(path, cp.dump(exported))
    local loaded = assert(cp.load(path))
    os.remove(path)

    local e2 = S.start{ "--seed", "empty" }
    local c2 = S.client(e2)
    local ok, err = pcall(function()
      local r = assert(cp.apply(c2, loaded))
      assert.equals(0, r.failed)
      assert.equals(0, assert(cp.plan(c2, loaded)).changes, "the copy matches the file")
      assert.same(exported, assert(cp.export(c2)), "and exports the same")
      assert.equals(0, assert(cp.plan(c, loaded)).changes, "the source matches it too")
    end)
    c2:close()
    e2:stop()
    assert(ok, err)
  end)

  it("reads the same description from JSON", function()
    local path = os.tmpname() .. ".json"
    write(path, cjson.encode{ Leads = { lock_type = "both", locking_rules = DESIRED.Leads.locking_rules },
                              Vendors = cjson.null })
    local d = assert(cp.load(path))
    os.remove(path)
    assert(cp.apply(c, d))
    assert.equals("Junk leads", c:lock_config("Leads").locking_rules[1].name)
    assert.equals(0, assert(cp.plan(c, d)).changes)
  end)
end)

describe("zlock config", function()
  local e

  before_each(function() e = S.start() end)
  after_each(function() if e then e:stop() end end)

  it("apply --dry-run prints the plan and changes nothing; apply then reports no change", function()
    local c = S.client(e)
    local before = cjson.encode(c:lock_config("Deals"))
    local out, code, err = S.zlock(e, { "config", "apply", "examples/lock_config.lua", "--dry-run" })
    assert.equals(0, code, err)
    assert.matches("Deals: update", out, 1, true)
    assert.matches('+ rule "Lock big won deals"', out, 1, true)
    assert.matches("excluded_fields: - -> Description", out, 1, true)
    assert.matches("dry run: nothing changed", out, 1, true)
    assert.equals(before, cjson.encode(c:lock_config("Deals")))

    out, code, err = S.zlock(e, { "config", "apply", "examples/lock_config.lua" })
    assert.equals(0, code, err)
    assert.matches("1 module changed, 0 failed", out, 1, true)
    assert.equals(2, #c:lock_config("Deals").locking_rules)

    local doc
    doc, code, err = S.zlock_json(e, { "config", "apply", "examples/lock_config.lua" })
    assert.equals(0, code, err)
    assert.equals(0, doc.changes)
    assert.equals(0, doc.applied)
    c:close()
  end)

  it("get shows a module's configuration as a table and as JSON", function()
    local out, code = S.zlock(e, { "config", "get", "Deals" })
    assert.equals(0, code)
    assert.matches("lock_type%s+both", out)
    assert.matches("Lock closed lost deals", out, 1, true)
    local doc = S.zlock_json(e, { "config", "get", "Deals" })
    assert.equals("config get", doc.operation)
    assert.equals("Deals", doc.configurations[1].module)
    assert.equals("both", doc.configurations[1].configuration.lock_type)
    local raw = select(4, S.zlock_json(e, { "config", "get", "Leads" }))
    assert.matches('"excluded_fields":[]', raw, 1, true)   -- lists are arrays, [] when empty
    assert.matches('"locking_rules":[]', raw, 1, true)
    out = S.zlock(e, { "config", "get", "Vendors" })
    assert.matches("no record locking configuration", out, 1, true)
  end)

  it("export writes a file that apply takes back without a change", function()
    local out, code, err = S.zlock(e, { "config", "export" })
    assert.equals(0, code, err)
    local path = os.tmpname() .. ".lua"
    write(path, out)
    local doc
    doc, code, err = S.zlock_json(e, { "config", "apply", path })
    os.remove(path)
    assert.equals(0, code, err)
    assert.equals(0, doc.changes)
    assert.is_true(#doc.steps >= 2)
  end)

  it("exits 2 on usage errors and bad files, before any request; 1 when a request fails", function()
    local before = e:stats().total
    local bad = os.tmpname() .. ".lua"
    write(bad, "return { Deals = { lock_typ = 'manual' } }")
    for _, args in ipairs{ { "config" }, { "config", "frob" }, { "config", "apply" },
                           { "config", "apply", "/nonexistent.lua" }, { "config", "apply", bad },
                           { "config", "get", "--dry-run" } } do
      local _, code, err = S.zlock(e, args)
      assert.equals(2, code, table.concat(args, " "))
      assert.is_true(#err > 0)
    end
    os.remove(bad)
    assert.equals(1, e:stats().total - before)
    local _, code, err = S.zlock(e, { "config", "get", "No_Such_Module" })
    assert.equals(1, code)
    assert.matches("INVALID_MODULE", err, 1, true)
  end)
end)
