-- Policy planning (zlock.policy_run.plan and zlock.policy.validate): what a policy does with
-- each selected record, decided without any call. No server needed.
local policy = require "zlock.policy"
local run = require "zlock.policy_run"

local NOW = policy.parse_time("2026-11-01")

local function lock_policy(extra)
  local p = { name = "lost", module = "Deals", select = { criteria = "(Stage:equals:Closed Lost)" },
              action = "lock", reason = "closed lost on ${Closing_Date}", params = { days = 30 },
              where = function(rec, ctx) return ctx.days_since(rec.Closing_Date) > ctx.params.days, "old" end }
  for k, v in pairs(extra or {}) do p[k] = v end
  if extra and extra.where == false then p.where = nil end
  return assert(policy.validate(p))
end

describe("policy planning", function()
  local ctx = policy.context({ days = 30 }, NOW)

  it("plans a lock with the reason expanded and the why from where()", function()
    local p = lock_policy()
    local what, item, _, _, matched = run.plan(p, p.select, ctx,
      { id = "5843104000000100309", Deal_Name = "Acme", Closing_Date = "2026-09-01" })
    assert.equals("item", what)
    assert.is_true(matched)
    assert.equals("Deals", item.module)
    assert.equals("5843104000000100309", item.record_id)
    assert.equals("closed lost on 2026-09-01", item.reason)
    assert.equals("old", item.extra.why)
    assert.equals("Acme", item.extra.name)
    assert.is_nil(item.lock_id)
  end)

  it("skips a record where() rejects", function()
    local p = lock_policy()
    local what, _, _, _, matched = run.plan(p, p.select, ctx, { id = "1", Closing_Date = "2026-10-30" })
    assert.equals("skip", what)
    assert.falsy(matched)
  end)

  it("fails a record whose where() raises, or that has no value for the reason", function()
    local p = lock_policy()
    local what, msg, module, record_id, matched = run.plan(p, p.select, ctx, { id = "7", Closing_Date = "soon" })
    assert.equals("fail", what)
    assert.matches("^where%(%) failed: .*not a date: soon", msg)
    assert.equals("Deals", module)
    assert.equals("7", record_id)
    assert.falsy(matched)
    p = lock_policy{ where = false }
    local m2
    what, msg, m2, record_id, matched = run.plan(p, p.select, ctx, { id = "8" })
    assert.same({ "Deals", "8" }, { m2, record_id })
    assert.equals("fail", what)
    assert.matches("^reason: template ${Closing_Date}", msg)
    assert.is_true(matched)
  end)

  it("plans an unlock of a lock selected with select.locks (the lock id from the lock)", function()
    local p = assert(policy.validate{ action = "unlock", select = { locks = true } })
    local what, item = run.plan(p, p.select, ctx, { id = "900", module = "Leads", record_id = "12",
                                                   Locked_Reason__s = "x" })
    assert.equals("item", what)
    assert.same({ "Leads", "12", "900" }, { item.module, item.record_id, item.lock_id })
    assert.is_nil(item.reason)
  end)

  it("gives a report's row", function()
    local p = assert(policy.validate{ action = "report", module = "Deals", select = { fields = { "Deal_Name" } },
                                      row = function(rec) return policy.csv(rec.id, rec.Deal_Name) end })
    local what, line = run.plan(p, p.select, ctx, { id = "3", Deal_Name = "A, B" })
    assert.equals("row", what)
    assert.equals('3,"A, B"', line)
  end)
end)

describe("policy validation", function()
  it("names the first problem", function()
    local cases = {
      { { module = "Deals", select = {}, action = "lock", reason = "r" }, "select needs criteria" },
      { { module = "Deals", select = { criteria = "x" }, action = "update", reason = "r" },
        'action "update" needs select = { locks = true }' },
      { { module = "Deals", select = { criteria = "x" }, action = "lock" }, 'action "lock" needs a reason' },
      { { module = "Deals", select = { criteria = "x" }, action = "report" }, 'action "report" needs row' },
      { { module = "Deals", select = { criteria = "x" }, action = "lock", reason = "r", why = 3 },
        "why must be a template string" },
      { { module = "Deals", select = { criteria = "x" }, action = "unlock", concurrency = 0 },
        "concurrency must be an integer from 1 to 1024, got 0" },
      { { module = "Deals", select = { criteria = "x" }, action = "unlock", colour = 1 }, 'unknown field "colour"' },
      { { module = "1Deals", select = { criteria = "x" }, action = "unlock" }, "module must be a module API name" },
    }
    for _, c in ipairs(cases) do
      local ok, err = policy.validate(c[1], "t")
      assert.is_nil(ok)
      assert.matches(c[2], err, 1, true)
    end
  end)
end)
