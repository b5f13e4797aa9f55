-- zlock.config through the Lua API against zlock-emu: every configuration operation, its
-- documented errors, and the argument checks made before any request.
local S = require "bulk.support"
local zlock_error = require "zlock.error"

local CRIT = { comparator = "equal", field = { api_name = "Account_Name" }, value = "Spec Holdings" }

describe("zlock.config operations", function()
  local e, c

  lazy_setup(function()
    e = S.start()
    c = S.client(e)
  end)
  lazy_teardown(function()
    if c then c:close() end
    if e then e:stop() end
  end)

  it("reads a configuration with Zoho's field names, ids as strings and rules as an array", function()
    local cfg = assert(c:lock_config("Deals"))
    assert.equals("both", cfg.lock_type)
    assert.matches("^%d+$", cfg.id)
    assert.equals("record_locking", cfg.feature_type)
    assert.equals(1, #cfg.locking_rules)
    local rule = cfg.locking_rules[1]
    assert.equals("Lock closed lost deals", rule.name)
    assert.matches("^%d+$", rule.id)
    assert.equals("Stage", rule.criteria.field.api_name)
    assert.is_true(#cfg.restricted_actions >= 1)
  end)

  it("answers false for a module without a configuration (Zoho's 204)", function()
    assert.is_false(c:lock_config("Vendors"))
  end)

  it("creates, updates (by id and the module's one), changes rules and deletes a configuration", function()
    local res = assert(c:create_lock_config("Accounts", { lock_type = "manual", restricted_actions = { "update" } }))
    assert.equals("SUCCESS", res.code)
    assert.matches("^%d+$", res.id)
    local id = res.id
    assert.equals("manual", c:lock_config("Accounts").lock_type)

    assert.equals(id, assert(c:update_lock_config("Accounts", { lock_for_portal_users = true }, id)).id)
    assert.is_true(c:lock_config("Accounts").lock_for_portal_users)
    assert(c:update_lock_config("Accounts", { id = id, lock_type = "both",   -- no id in the path
      locking_rules = { { name = "First rule", criteria = CRIT } } }))
    assert.equals("both", c:lock_config("Accounts").lock_type)

    assert(c:add_lock_rule("Accounts", { name = "Spec rule", criteria = CRIT }))
    local rules = c:lock_config("Accounts").locking_rules
    assert.equals(2, #rules)
    assert.equals("Spec rule", rules[2].name)
    assert.equals("Spec Holdings", rules[2].criteria.value)
    local rid = rules[2].id

    assert(c:update_lock_rule("Accounts", rid, { name = "Renamed rule", lock_existing_records = true }))
    rules = c:lock_config("Accounts").locking_rules
    assert.equals(2, #rules)
    assert.equals(rid, rules[2].id)
    assert.equals("Renamed rule", rules[2].name)
    assert.is_true(rules[2].lock_existing_records)

    assert(c:delete_lock_rule("Accounts", rid))
    rules = c:lock_config("Accounts").locking_rules
    assert.equals(1, #rules)
    assert.equals("First rule", rules[1].name)

    local del = assert(c:delete_lock_config("Accounts", id))
    assert.equals(id, del.id)
    assert.is_false(c:lock_config("Accounts"))
  end)

  it("returns Zoho's errors as zlock errors: bad enum value, unknown module, bad ids", function()
    local res, err = c:create_lock_config("Contacts", { lock_type = "sometimes" })
    assert.is_nil(res)
    assert.is_true(zlock_error.is(err))
    assert.equals("INVALID_DATA", err.code)
    assert.equals(400, err.http_status)
    assert.equals("lock_type", err.details.api_name)

    res, err = c:lock_config("No_Such_Module")
    assert.is_nil(res)
    assert.equals("INVALID_MODULE", err.code)

    local cfg = assert(c:lock_config("Deals"))
    res, err = c:update_lock_config("Deals", { lock_type = "both" }, "1234")
    assert.is_nil(res)
    assert.equals("INVALID_DATA", err.code)

    res, err = c:delete_lock_rule("Deals", "1234")   -- not a rule of Deals
    assert.is_nil(res)
    assert.equals("INVALID_DATA", err.code)
    assert.equals(cfg.locking_rules[1].id, c:lock_config("Deals").locking_rules[1].id, "nothing changed")
  end)

  it("refuses a rule change on a module without a configuration with NOT_CONFIGURED", function()
    local res, err = c:add_lock_rule("Vendors", { name = "x", criteria = CRIT })
    assert.is_nil(res)
    assert.equals("NOT_CONFIGURED", err.code)
  end)

  it("raises on bad arguments before any request", function()
    local before = e:stats().total
    assert.has_error(function() c:lock_config("Bad Module") end,
      "bad argument #1 to 'lock_config' (module name must match [A-Za-z][A-Za-z0-9_]*)")
    assert.has_error(function() c:lock_config(42) end,
      "bad argument #1 to 'lock_config' (module name expected, got number)")
    assert.has_error(function() c:create_lock_config("Deals", "manual") end)
    assert.has_error(function() c:delete_lock_config("Deals") end)
    assert.has_error(function() c:delete_lock_config("Deals", "12x") end)
    assert.has_error(function() c:update_lock_rule("Deals", 12, {}) end)
    assert.has_error(function() c:add_lock_rule("Deals", { id = "1", name = "x" }) end)
    assert.equals(1, e:stats().total - before, "only the stats call itself")
  end)
end)
