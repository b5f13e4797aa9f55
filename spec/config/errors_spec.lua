-- The configuration API's documented errors through the Lua API against zlock-emu, and the
-- profile permissions: a Standard-profile user may read a configuration but not change it.
local S = require "bulk.support"

local STANDARD_TOKEN = "1000.zlockemu.standard-user-token"
local RULE = { name = "Big ones",
               criteria = { comparator = "greater_than", field = { api_name = "Annual_Revenue" }, value = 1000000 } }

describe("configuration errors", function()
  local e, c

  lazy_setup(function()
    e = S.start()
    c = S.client(e)
  end)
  lazy_teardown(function()
    if c then c:close() end
    if e then e:stop() end
  end)

  local function refused(code, status, module, cfg)
    local res, err = c:create_lock_config(module or "Accounts", cfg)
    assert.is_nil(res, "refused")
    assert.equals(code, err.code, tostring(err))
    assert.equals(status or 400, err.http_status)
    assert.is_false(c:lock_config(module or "Accounts"), "nothing created")
    return err
  end

  it("a second configuration for a module: LIMIT_EXCEEDED", function()
    local res, err = c:create_lock_config("Deals", { lock_type = "manual" })
    assert.is_nil(res)
    assert.equals("LIMIT_EXCEEDED", err.code)
    assert.equals("both", c:lock_config("Deals").lock_type)
  end)

  it("automatic or both without rules, excluded-profiles mode without profiles: DEPENDENT_FIELD_MISSING", function()
    local err = refused("DEPENDENT_FIELD_MISSING", 400, "Accounts", { lock_type = "both" })
    assert.equals("locking_rules", err.details.api_name)
    assert.equals("lock_type", err.details.dependee.api_name)
    refused("DEPENDENT_FIELD_MISSING", 400, "Accounts", { lock_type = "automatic", locking_rules = {} })
    err = refused("DEPENDENT_FIELD_MISSING", 400, "Accounts",
      { lock_type = "manual", locked_for = "all_profiles_except_excluded_profiles" })
    assert.equals("lock_excluded_profiles", err.details.api_name)
    assert(c:create_lock_config("Accounts", { lock_type = "manual",
      locked_for = "all_profiles_except_excluded_profiles", lock_excluded_profiles = { { name = "Standard" } } }))
    assert(c:delete_lock_config("Accounts", c:lock_config("Accounts").id))
  end)

  it("values outside their enums and unknown criteria fields: INVALID_DATA", function()
    local err = refused("INVALID_DATA", 400, "Accounts",
      { lock_type = "manual", restricted_actions = { "update", "fly" } })
    assert.equals("restricted_actions", err.details.api_name)
    assert.same({ "update", "delete" }, err.details.supported_values)
    err = refused("INVALID_DATA", 400, "Accounts", { lock_type = "manual", locked_for = "nobody" })
    assert.equals("locked_for", err.details.api_name)
    refused("INVALID_DATA", 400, "Accounts", { lock_type = "automatic", locking_rules = { { name = "x",
      criteria = { comparator = "equal", field = { api_name = "No_Such_Field" }, value = 1 } } } })
  end)

  it("more than 5 rules: LIMIT_EXCEEDED", function()
    local rules = {}
    for i = 1, 6 do rules[i] = { name = "rule " .. i, criteria = RULE.criteria } end
    local err = refused("LIMIT_EXCEEDED", 400, "Accounts", { lock_type = "automatic", locking_rules = rules })
    assert.equals(5, err.details.limit)
  end)

  it("update is always restricted", function()
    assert(c:create_lock_config("Accounts", { lock_type = "manual", restricted_actions = { "delete" } }))
    local ra = c:lock_config("Accounts").restricted_actions
    table.sort(ra)
    assert.same({ "delete", "update" }, ra)
    assert(c:delete_lock_config("Accounts", c:lock_config("Accounts").id))
  end)

  it("a module that cannot be locked: NOT_SUPPORTED; an unknown one: INVALID_MODULE", function()
    local res, err = c:lock_config("Campaigns")
    assert.is_nil(res)
    assert.equals("NOT_SUPPORTED", err.code)
    res, err = c:create_lock_config("Campaigns", { lock_type = "manual" })
    assert.is_nil(res)
    assert.equals("NOT_SUPPORTED", err.code)
    res, err = c:lock_config("No_Such_Module")
    assert.is_nil(res)
    assert.equals("INVALID_MODULE", err.code)
  end)

  it("DELETE without an id is refused (Zoho's ids is mandatory)", function()
    local doc, err = c:request("DELETE", "settings/record_locking_configurations", { query = { module = "Deals" } })
    assert.is_nil(doc)
    assert.equals("REQUIRED_PARAM_MISSING", err.code)
    assert.equals("ids", err.details.param)
    assert.is_truthy(c:lock_config("Deals"), "still configured")
  end)
end)

describe("configuration permissions", function()
  local e, admin, std

  lazy_setup(function()
    e = S.start()
    admin = S.client(e)
    std = S.client(e, { access_token = STANDARD_TOKEN })
  end)
  lazy_teardown(function()
    if std then std:close() end
    if admin then admin:close() end
    if e then e:stop() end
  end)

  local function no_permission(res, err)
    assert.is_nil(res)
    assert.equals("NO_PERMISSION", err.code)
    assert.equals(403, err.http_status)
    assert.equals("table", type(err.details.permissions))
    assert.is_true(#err.details.permissions >= 1)
  end

  it("a Standard-profile user reads a configuration but gets NO_PERMISSION on every change", function()
    local cfg = assert(std:lock_config("Deals"))
    assert.equals("both", cfg.lock_type)
    no_permission(std:create_lock_config("Accounts", { lock_type = "manual" }))
    no_permission(std:update_lock_config("Deals", { lock_type = "manual" }, cfg.id))
    no_permission(std:add_lock_rule("Deals", RULE))
    no_permission(std:delete_lock_config("Deals", cfg.id))
    local after = assert(admin:lock_config("Deals"))
    assert.equals("both", after.lock_type)
    assert.equals(1, #after.locking_rules)
    local r = assert(require("zlock.config").apply(std, { Leads = false }))
    assert.equals(1, r.failed)
    no_permission(nil, r.steps[1].error)
    assert.is_truthy(admin:lock_config("Leads"), "still configured")
  end)

  it("a Standard-profile user gets NO_PERMISSION with the permissions on another user's lock", function()
    local ids = S.unlocked(e, "Deals")
    local lock = assert(admin:lock("Deals", ids[1], "the admin's lock"))
    no_permission(std:unlock("Deals", ids[1], lock.id))
    no_permission(std:update("Deals", ids[1], lock.id, "changed by someone else"))
    assert(admin:unlock("Deals", ids[1], lock.id))
  end)
end)
