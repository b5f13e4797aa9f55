-- Black-box spec: zlock-emu's admin API (/__emu/state, reset, stats), the record locking
-- configuration API with its automatic rules, the demo org, and the metadata endpoints.
local emu = require "helpers.emu"
local shape = require "helpers.zoho_shape"
local org = require "helpers.emu_org"
local cjson = require "cjson.safe"

local CFG = "/crm/v8/settings/record_locking_configurations"

local function lock_path(module, id, lock_id)
  return ("/crm/v8/%s/%s/Locking_Information__s%s"):format(module, id, lock_id and ("/" .. lock_id) or "")
end

local function contains(list, v)
  for _, x in ipairs(list or {}) do if x == v then return true end end
  return false
end

-- Criteria in the demo rule's own shape, aimed at another field and value.
local function criteria_like(demo_criteria, api_name, value)
  local c = cjson.decode(cjson.encode(demo_criteria))
  if c.group then c = c.group[1] end
  c.group_operator, c.group = nil, nil
  c.field = { api_name = api_name }
  c.comparator = "equal"
  c.value = value
  return c
end

local function config_item(res)
  assert(res and res.json and res.json.record_locking_configurations, "configuration answer: " .. shape.show(res))
  return res.json.record_locking_configurations[1]
end

describe("zlock-emu demo org", function()
  local e
  lazy_setup(function() e = emu.start{ "--seed", "demo" } end)
  lazy_teardown(function() if e then e:stop() end end)

  it("has at least 200 Deals with 19-digit string ids and the four stages", function()
    local deals = org.records(e, "Deals")
    assert.is_true(#deals >= 200, "deals: " .. #deals)
    local stages = {}
    for _, d in ipairs(deals) do
      assert.is_true(shape.is_id(d.id) and #d.id == 19, "deal id " .. tostring(d.id))
      stages[d.Stage] = true
    end
    for _, s in ipairs{ "Qualification", "Negotiation/Review", "Closed Won", "Closed Lost" } do
      assert.is_true(stages[s] == true, "stage " .. s .. " present")
    end
  end)

  it("has Leads, Accounts and Contacts records", function()
    for _, m in ipairs{ "Leads", "Accounts", "Contacts" } do
      assert.is_true(#org.records(e, m, 1) >= 1, m)
    end
  end)

  it("configures Deals: lock_type both, a Closed Lost rule, update among restricted_actions", function()
    local cfg = org.config(e, "Deals")
    assert.truthy(cfg, "Deals configuration")
    assert.is_true(shape.is_id(cfg.id))
    assert.are.equal("both", cfg.lock_type)
    assert.is_true(contains(cfg.restricted_actions, "update"), cjson.encode(cfg.restricted_actions))
    local found = false
    for _, r in ipairs(cfg.locking_rules or {}) do
      local c = cjson.encode(r.criteria)
      if c:find("Stage", 1, true) and c:find("Closed Lost", 1, true) then found = true end
      assert.is_true(shape.is_id(r.id), "rule id")
    end
    assert.is_true(found, "a rule on Stage = Closed Lost: " .. cjson.encode(cfg.locking_rules))
  end)

  it("configures Leads manual-only and leaves Accounts unconfigured (204)", function()
    assert.are.equal("manual", org.config(e, "Leads").lock_type)
    local res = e:req("GET", CFG .. "?module=Accounts")
    shape.status(res, 204, "Accounts configuration")
    assert.are.equal("", res.body)
  end)

  it("puts automatic locks only on Closed Lost deals, from the Deals rule (all of them with lock_existing_records)",
    function()
    local cfg = org.config(e, "Deals")
    local rule = cfg.locking_rules[1]
    local stage, locked_flag = {}, {}
    for _, d in ipairs(org.records(e, "Deals")) do stage[d.id], locked_flag[d.id] = d.Stage, d.Locked__s end
    local locked = {}
    for _, l in ipairs(e:state().locks) do
      if l.module == "Deals" then
        locked[l.record_id] = true
        if l.source == "Automatic" then
          assert.are.equal("Closed Lost", stage[l.record_id], "automatic lock on " .. l.record_id)
          assert.are.equal(rule.id, l.rule_id)
        end
      end
    end
    for id, st in pairs(stage) do
      assert.are.equal(locked[id] == true, locked_flag[id], "Locked__s of " .. id .. " matches its locks")
      if rule.lock_existing_records == true and st == "Closed Lost" then
        assert.is_true(locked[id] == true, "lock_existing_records: Closed Lost deal " .. id .. " locked")
      end
    end
  end)

  it("builds the same org from the same seed (--records Deals=300)", function()
    local a = emu.start{ "--seed", "demo", "--records", "Deals=300" }
    local b = emu.start{ "--seed", "demo", "--records", "Deals=300" }
    local ra, rb = org.records(a, "Deals"), org.records(b, "Deals")
    a:stop(); b:stop()
    assert.are.equal(300, #ra)
    assert.are.same(ra, rb)
  end)
end)

describe("zlock-emu metadata", function()
  local e
  lazy_setup(function() e = emu.start{ "--seed", "demo" } end)
  lazy_teardown(function() if e then e:stop() end end)

  it("GET /crm/v8/settings/modules lists Deals, Leads and Locking_Information__s with string ids", function()
    local res = e:req("GET", "/crm/v8/settings/modules")
    shape.status(res, 200, "modules")
    local names = {}
    for _, m in ipairs(res.json.modules) do
      names[m.api_name] = m
      assert.is_true(shape.is_id(m.id), "module id of " .. tostring(m.api_name))
    end
    for _, n in ipairs{ "Deals", "Leads", "Accounts", "Contacts", "Locking_Information__s" } do
      assert.truthy(names[n], n .. " listed")
    end
  end)

  it("Locked_For__s.module.id is the Deals module id of /settings/modules", function()
    local mods = e:req("GET", "/crm/v8/settings/modules").json.modules
    local deals_id
    for _, m in ipairs(mods) do if m.api_name == "Deals" then deals_id = m.id end end
    local id = org.fresh(e, "Deals")
    local _, lid = org.lock(e, "Deals", id, "module id")
    local l = e:req("GET", lock_path("Deals", id, lid)).json.data[1]
    assert.are.equal(deals_id, l.Locked_For__s.module.id)
  end)

  it("GET /crm/v8/settings/fields?module=Locking_Information__s lists the lock fields with their types", function()
    local res = e:req("GET", "/crm/v8/settings/fields?module=Locking_Information__s")
    shape.status(res, 200, "fields")
    local f = {}
    for _, x in ipairs(res.json.fields) do f[x.api_name] = x end
    for _, n in ipairs{ "Locked_Reason__s", "Lock_Source__s", "Locked_For__s", "Locked_Time__s", "Locked_By__s",
                        "Record_Locking_Rule_Id__s", "Record_Locking_Configuration_Id__s", "Feature_Type__s" } do
      assert.truthy(f[n], n .. " listed: " .. res.body:sub(1, 300))
    end
    assert.are.equal("textarea", f.Locked_Reason__s.data_type)
    assert.are.equal("picklist", f.Lock_Source__s.data_type)
    assert.are.equal("datetime", f.Locked_Time__s.data_type)
  end)

  it("GET /crm/v8/users?type=CurrentUser gives one user with a string id", function()
    local res = e:req("GET", "/crm/v8/users?type=CurrentUser")
    shape.status(res, 200, "current user")
    assert.are.equal(1, #res.json.users)
    local u = res.json.users[1]
    assert.is_true(shape.is_id(u.id) and #u.id == 19, "user id")
    assert.is_string(u.full_name or u.name)
    assert.is_string(u.email)
  end)
end)

describe("zlock-emu record locking configuration API", function()
  local e
  lazy_setup(function() e = emu.start{ "--seed", "demo" } end)
  lazy_teardown(function() if e then e:stop() end end)

  it("GET /{id}?module=Deals answers the same configuration as the list", function()
    local cfg = org.config(e, "Deals")
    local res = e:req("GET", CFG .. "/" .. cfg.id .. "?module=Deals")
    shape.status(res, 200, "get one configuration")
    local one = config_item(res)
    assert.are.equal(cfg.id, one.id)
    assert.are.equal(cfg.lock_type, one.lock_type)
  end)

  it("POST, PUT and DELETE manage a configuration on Accounts, and locking follows it", function()
    local acc = org.fresh(e, "Accounts")
    local post = e:req("POST", CFG .. "?module=Accounts", { body = { record_locking_configurations = {
      { lock_type = "manual", restricted_actions = { "update" }, locked_for = "all_profiles" } } } })
    shape.status(post, 201, "create configuration")
    local item = config_item(post)
    assert.are.equal("SUCCESS", item.code)
    assert.are.equal("success", item.status)
    assert.are.equal("record locking configuration created successfully", item.message)
    local cid = item.details.id
    assert.is_true(shape.is_id(cid))
    assert.are.equal("manual", org.config(e, "Accounts").lock_type)

    local res, lid = org.lock(e, "Accounts", acc, "configured now")
    shape.status(res, 201, "lock an account")
    assert.are.equal(cid, e:req("GET", lock_path("Accounts", acc, lid)).json.data[1].Record_Locking_Configuration_Id__s)
    shape.status(e:req("DELETE", lock_path("Accounts", acc, lid)), 200, "unlock the account")

    local put = e:req("PUT", CFG .. "/" .. cid .. "?module=Accounts", { body = { record_locking_configurations = {
      { id = cid, lock_type = "both", locking_rules = { { name = "never", criteria = {
        comparator = "equal", field = { api_name = "Account_Name" }, value = "zz-no-such-account" } } } } } } })
    shape.status(put, 200, "update configuration")
    assert.are.equal("SUCCESS", config_item(put).code)
    assert.are.equal("both", org.config(e, "Accounts").lock_type)

    shape.status((org.lock(e, "Accounts", acc, "still locked when the configuration goes")), 201, "relock")
    local del = e:req("DELETE", CFG .. "/" .. cid .. "?module=Accounts")
    shape.status(del, 200, "delete configuration")
    assert.are.equal("SUCCESS", config_item(del).code)
    shape.status(e:req("GET", CFG .. "?module=Accounts"), 204, "configuration gone")
    assert.is_false(e:req("GET", "/crm/v8/Accounts/" .. acc).json.data[1].Locked__s,
      "no configuration, no lock: the record is unlocked with it")
    shape.top_error(org.lock(e, "Accounts", acc, "no config"), { status = 400, code = "NOT_ALLOWED",
      details = { resource_path_index = 2 } })
  end)

  it("refuses a second configuration on Deals with an error", function()
    local res = e:req("POST", CFG .. "?module=Deals", { body = { record_locking_configurations = {
      { lock_type = "manual" } } } })
    assert(res and res.status >= 400 and res.status < 500, shape.show(res))
    assert.are.equal("both", org.config(e, "Deals").lock_type)
  end)

  it("the Closed Lost rule locks a deal automatically when it is updated to Closed Lost", function()
    local cfg = org.config(e, "Deals")
    local id = org.fresh(e, "Deals")
    local put = e:req("PUT", "/crm/v8/Deals/" .. id, { body = { data = { { Stage = "Closed Lost" } } } })
    shape.status(put, 200, "update stage")
    local locks = org.locks(e, "Deals", id)
    assert.are.equal(1, #locks, "one automatic lock")
    local l = e:req("GET", lock_path("Deals", id, locks[1].id)).json.data[1]
    assert.are.equal("Automatic", l.Lock_Source__s)
    assert.are.equal(cfg.locking_rules[1].id, l.Record_Locking_Rule_Id__s)
    assert.are.equal("read_only", l["$sharing_permission"])
    local rec = e:req("GET", "/crm/v8/Deals/" .. id)
    shape.status(rec, 200, "get record")
    assert.is_true(rec.json.data[1].Locked__s)
  end)

  it("an automatic rule with lock_existing_records locks the matching existing records only", function()
    local demo = org.config(e, "Deals").locking_rules[1].criteria
    local contacts = org.records(e, "Contacts")
    assert.is_true(#contacts >= 2)
    local target, other = contacts[1], nil
    for _, c in ipairs(contacts) do if c.Last_Name ~= target.Last_Name then other = c; break end end
    assert.truthy(other, "two contacts with different last names")
    local post = e:req("POST", CFG .. "?module=Contacts", { body = { record_locking_configurations = { {
      lock_type = "automatic", restricted_actions = { "update" },
      locking_rules = { { name = "spec rule", lock_existing_records = true,
                          criteria = criteria_like(demo, "Last_Name", target.Last_Name) } } } } } })
    shape.status(post, 201, "create automatic configuration")
    local locks = org.locks(e, "Contacts", target.id)
    assert.are.equal(1, #locks, "the matching contact is locked")
    assert.are.equal("Automatic", locks[1].Lock_Source__s)
    assert.is_true(shape.is_id(locks[1].Record_Locking_Rule_Id__s))
    assert.are.equal(0, #org.locks(e, "Contacts", other.id), "a contact that does not match stays unlocked")
  end)
end)

describe("zlock-emu configuration semantics", function()
  local e
  lazy_setup(function() e = emu.start{ "--seed", "demo", "--records", "Projects__c=3" } end)
  lazy_teardown(function() if e then e:stop() end end)

  local function create(module, cfg)
    local body = type(cfg) == "string" and cfg or { record_locking_configurations = { cfg } }
    local res = e:req("POST", CFG .. "?module=" .. module, { body = body })
    shape.status(res, 201, "create configuration on " .. module)
    return config_item(res).details.id
  end

  it("update is always restricted; restricted_actions decides whether a locked record can be deleted", function()
    local cid = create("Accounts", '{"record_locking_configurations":[{"lock_type":"manual","restricted_actions":[]}]}')
    assert.are.same({ "update" }, org.config(e, "Accounts").restricted_actions, "update added")
    local acc = org.fresh(e, "Accounts")
    shape.status((org.lock(e, "Accounts", acc, "a lock")), 201, "lock")
    shape.wrapped_error(e:req("PUT", "/crm/v8/Accounts/" .. acc, { body = { data = { { Description = "a" } } } }),
      { status = 400, code = "RECORD_LOCKED", details = { action = "record_locking" } })
    local other = org.fresh(e, "Accounts")
    shape.status((org.lock(e, "Accounts", other, "deletable")), 201, "lock another")
    shape.status(e:req("DELETE", "/crm/v8/Accounts/" .. other), 200, "delete allowed while delete is not restricted")
    -- bulk form of the configuration PUT: no id in the path, the id in the body
    local put = e:req("PUT", CFG .. "?module=Accounts", { body = { record_locking_configurations = {
      { id = cid, restricted_actions = { "delete" } } } } })
    shape.status(put, 200, "bulk configuration update")
    assert.are.same({ "update", "delete" }, org.config(e, "Accounts").restricted_actions)
    local del = e:req("DELETE", "/crm/v8/Accounts/" .. acc)
    assert(del and del.status >= 400 and del.body:find("RECORD_LOCKED", 1, true), shape.show(del))
    -- bulk form of the configuration DELETE: ?ids=
    shape.status(e:req("DELETE", CFG .. "?module=Accounts&ids=" .. cid), 200, "bulk configuration delete")
    shape.status(e:req("GET", CFG .. "?module=Accounts"), 204, "gone")
  end)

  it("excluded_fields stay editable on a locked record, other fields do not", function()
    create("Projects__c", { lock_type = "manual", restricted_actions = { "update" },
                            excluded_fields = { { api_name = "Status" } } })
    local pid = org.fresh(e, "Projects__c")
    local res, lid = org.lock(e, "Projects__c", pid, "custom module lock")
    shape.status(res, 201, "lock a custom-module record")
    local l = e:req("GET", lock_path("Projects__c", pid, lid)).json.data[1]
    assert.are.equal("Projects__c", l.Locked_For__s.module.api_name)
    shape.status(e:req("PUT", "/crm/v8/Projects__c/" .. pid, { body = { data = { { Status = "Done" } } } }), 200,
      "excluded field")
    shape.wrapped_error(e:req("PUT", "/crm/v8/Projects__c/" .. pid, { body = { data = { { Name = "Renamed" } } } }),
      { status = 400, code = "RECORD_LOCKED", details = { action = "record_locking" } })
  end)

  it("refuses an unknown lock_type and an automatic configuration without rules", function()
    local bad = e:req("POST", CFG .. "?module=Contacts", { body = { record_locking_configurations = {
      { lock_type = "sometimes" } } } })
    assert(bad and bad.status == 400, shape.show(bad))
    local norule = e:req("POST", CFG .. "?module=Contacts", { body = { record_locking_configurations = {
      { lock_type = "automatic" } } } })
    assert(norule and norule.status == 400, shape.show(norule))
    shape.status(e:req("GET", CFG .. "?module=Contacts"), 204, "nothing created")
  end)

  it("knows every module Zoho lists as supporting locks", function()
    for _, m in ipairs{ "Leads", "Accounts", "Contacts", "Deals", "Tasks", "Cases", "Solutions", "Vendors",
                        "Price_Books", "Quotes", "Sales_Orders", "Purchase_Orders", "Invoices", "Products" } do
      local res = e:req("GET", CFG .. "?module=" .. m)
      assert(res and (res.status == 200 or res.status == 204), m .. ": " .. shape.show(res))
    end
    local res = e:req("GET", CFG .. "?module=No_Such_Module")
    shape.top_error(res, { status = 400, code = "INVALID_MODULE" })
  end)
end)

describe("zlock-emu admin API", function()
  local e
  lazy_setup(function() e = emu.start{ "--seed", "demo" } end)
  lazy_teardown(function() if e then e:stop() end end)

  it("GET /__emu/state shows a new lock and forgets it after unlock", function()
    local id = org.fresh(e, "Deals")
    local _, lid = org.lock(e, "Deals", id, "in state")
    assert.truthy(cjson.encode(e:state()):find(lid, 1, true), "lock id in state")
    e:req("DELETE", lock_path("Deals", id, lid))
    assert.falsy(cjson.encode(e:state()):find(lid, 1, true), "lock id gone from state")
  end)

  it("GET /__emu/state reports Locked__s per record and the lock count per module", function()
    local id = org.fresh(e, "Deals")
    local s0 = e:state()
    assert.are.equal(false, s0.records.Deals[id])
    local _, lid = org.lock(e, "Deals", id, "state flag")
    local s1 = e:state()
    assert.are.equal(true, s1.records.Deals[id])
    assert.are.equal(s0.counts.Deals.locked + 1, s1.counts.Deals.locked)
    local found
    for _, l in ipairs(s1.locks) do if l.lock_id == lid then found = l end end
    assert.truthy(found, "lock listed")
    assert.are.equal(id, found.record_id)
    assert.are.equal("Manual", found.source)
    e:req("DELETE", lock_path("Deals", id, lid))
    assert.are.equal(false, e:state().records.Deals[id])
  end)

  it("POST /__emu/reset brings back the seeded org: locks and configurations", function()
    local before = cjson.encode(e:state())
    local id = org.fresh(e, "Deals")
    local _, lid = org.lock(e, "Deals", id, "to be reset")
    shape.status(e:req("POST", CFG .. "?module=Accounts", { body = { record_locking_configurations = {
      { lock_type = "manual" } } } }), 201, "configure Accounts")
    e:reset()
    e._records, e._used = nil, nil
    assert.are.equal(0, #org.locks(e, "Deals", id), "lock removed by reset")
    assert.falsy(cjson.encode(e:state()):find(lid, 1, true))
    shape.status(e:req("GET", CFG .. "?module=Accounts"), 204, "Accounts configuration removed by reset")
    assert.are.equal(#before, #cjson.encode(e:state()), "state after reset has the size of the seeded state")
  end)

  it("GET /__emu/stats counts requests by status", function()
    local function count_404(s)
      local n = 0
      local function walk(t, key)
        if type(t) == "table" then for k, v in pairs(t) do walk(v, k) end
        elseif type(t) == "number" and tostring(key) == "404" then n = n + t end
      end
      walk(s)
      return n
    end
    local before = count_404(e:stats())
    for _ = 1, 3 do e:req("GET", "/crm/v8/no/such/url/at/all") end
    assert.are.equal(before + 3, count_404(e:stats()), "three more 404s in stats: " .. cjson.encode(e:stats()))
  end)

  it("the admin API needs no token and unknown admin paths are 404", function()
    local res = e:req("GET", "/__emu/stats", { token = false })
    shape.status(res, 200, "stats without token")
    local nope = e:req("GET", "/__emu/nope", { token = false })
    shape.status(nope, 404, "unknown admin path")
  end)
end)
