-- Policies: loading in a sandbox, validation with clear errors, parameters from the
-- policy, the environment and the command line, reason templates, dates. Pure functions, no
-- server needed (the policies' runs against zlock-emu are in examples_spec and the CLI specs).
-- luacheck: ignore 631 (the table of invalid policies reads best one case a line)
local policy = require "zlock.policy"
local S = require "bulk.support"

local function load_text(text)
  local f = S.tmpfile(text, ".lua")
  local p, err = policy.load(f)
  os.remove(f)
  return p, err
end

describe("policy", function()
  describe("loading", function()
    it("loads a valid policy file", function()
      local p = assert(load_text([[
        return { module = "Deals", select = { criteria = "(Stage:equals:Closed Lost)" }, action = "lock",
                 reason = "closed lost on ${Closing_Date}", params = { days = 30 } }
      ]]))
      assert.equals("Deals", p.module)
      assert.equals("lock", p.action)
    end)

    it("runs the file in a sandbox: no io, no require, no loading code, no os.execute", function()
      for _, snippet in ipairs{ "io.open('/etc/passwd')", "require('os')", "load('return 1')()",
                                "os.execute('true')", "os.remove('/tmp/x')", "dofile('/etc/passwd')",
                                "package.loaded.x = 1", "debug.getinfo(1)" } do
        local p, err = load_text(snippet .. "\nreturn {}")
        assert.is_nil(p, snippet)
        assert.matches("failed to load", err, 1, true)
      end
      -- what a policy needs is there
      assert.is_table(load_text([[
        local n = math.floor(tonumber(os.getenv("HOME") and "3" or "4")) + #string.rep("x", 2)
        local t = {}; table.insert(t, os.date("!%Y", os.time()))
        return { module = "Deals", select = { fields = { "Stage" } }, action = "unlock", params = { n = n } }
      ]]))
    end)

    it("names the problem of an invalid policy", function()
      local cases = {
        { "return nil", "must return a table, got nil" },
        { "return { module = 'Deals', select = { criteria = 'x' } }", 'action must be "lock", "unlock", "update" or "report", got nothing' },
        { "return { module = 'Deals', select = { criteria = 'x' }, action = 'lock' }", 'action "lock" needs a reason' },
        { "return { module = 'Deals', select = { criteria = 'x', coql = 'y' }, action = 'unlock' }", "one of criteria, coql, locks" },
        { "return { module = 'Deals', select = {}, action = 'unlock' }", "select needs criteria, coql, locks = true, or fields" },
        { "return { module = 'De als', select = { criteria = 'x' }, action = 'unlock' }", "module must be a module API name" },
        { "return { select = { criteria = 'x' }, action = 'unlock' }", "module must be" },
        { "return { module = 'Deals', select = { criteria = 'x' }, action = 'unlock', where = true }", "where must be a function" },
        { "return { module = 'Deals', select = { criteria = 'x' }, action = 'report' }", 'action "report" needs row' },
        { "return { module = 'Deals', select = { criteria = 'x' }, action = 'unlock', concurrency = 0 }", "concurrency must be" },
        { "return { module = 'Deals', select = { criteria = 'x' }, action = 'unlock', reasn = 'x' }", 'unknown field "reasn"' },
        { "return {", "does not compile" },
        { "error('nope')", "failed to load" },
      }
      for _, c in ipairs(cases) do
        local p, err = load_text(c[1])
        assert.is_nil(p, c[1])
        assert.matches(c[2], err, 1, true)
      end
      assert.matches("cannot read policy", select(2, policy.load("/nonexistent/p.lua")), 1, true)
    end)

    it("accepts select = { locks = true } without a module (every module)", function()
      assert.is_table(policy.validate{ select = { locks = true }, action = "unlock" })
    end)
  end)

  describe("parameters", function()
    local p = { params = { days = 30, prefix = "Q4", dry = false } }

    it("defaults from the policy, overridden by ZLOCK_<NAME>, then by --param, converted to the default's type", function()
      local env = { ZLOCK_DAYS = "60", ZLOCK_PREFIX = "Quarter" }
      local got = assert(policy.params(p, nil, function(k) return env[k] end))
      assert.same({ days = 60, prefix = "Quarter", dry = false }, got)
      got = assert(policy.params(p, { days = "7", dry = "true" }, function(k) return env[k] end))
      assert.same({ days = 7, prefix = "Quarter", dry = true }, got)
      local none, err = policy.params(p, { days = "soon" }, function() return nil end)
      assert.is_nil(none)
      assert.matches("days must be a number", err, 1, true)
      none, err = policy.params(p, nil, function(k) return k == "ZLOCK_DRY" and "yes" or nil end)
      assert.is_nil(none)
      assert.matches("ZLOCK_DRY: dry must be true or false", err, 1, true)
    end)
  end)

  describe("templates", function()
    local ctx = policy.context({ days = 30 }, 0)

    it("expands ${Field}, ${Owner.name} and ${params.x}", function()
      local rec = { Closing_Date = "2026-01-02", Owner = { name = "Mei Lin", id = "1" }, Amount = 1500 }
      assert.equals("closed 2026-01-02 by Mei Lin (1500) after 30 days",
        policy.expand("closed ${Closing_Date} by ${Owner.name} (${Amount}) after ${params.days} days", rec, ctx))
      assert.equals("owner Mei Lin", policy.expand("owner ${Owner}", rec, ctx))
    end)

    it("refuses a missing or null field rather than writing 'nil' into a reason", function()
      assert.has_error(function() policy.expand("on ${Closing_Date}", {}, ctx) end,
        "template ${Closing_Date}: the record has no value for Closing_Date")
      assert.has_error(function() policy.expand("on ${Closing_Date}", { Closing_Date = require("cjson").null }, ctx) end)
    end)

    it("writes CSV with RFC 4180 quoting", function()
      assert.equals('a,"b,c","say ""hi""",,"line\nbreak"', policy.csv("a", "b,c", 'say "hi"', nil, "line\nbreak"))
    end)
  end)

  describe("dates", function()
    it("parses dates and ISO date-times with offsets to Unix time", function()
      assert.equals(0, policy.parse_time("1970-01-01"))
      assert.equals(1793491200, policy.parse_time("2026-11-01"))
      assert.equals(1793491200, policy.parse_time("2026-11-01T00:00:00Z"))
      assert.equals(1793491200, policy.parse_time("2026-11-01T05:30:00+05:30"))
      assert.equals(1793491200, policy.parse_time("2026-10-31T19:00:00-05:00"))
      assert.equals(951782400, policy.parse_time("2000-02-29"))
      assert.is_nil(policy.parse_time("yesterday"))
      assert.is_nil(policy.parse_time("2026-13-01"))
      assert.is_nil(policy.parse_time(nil))
    end)

    it("counts whole days since a date and refuses what is not one", function()
      local ctx = policy.context({}, policy.parse_time("2026-11-27T12:00:00Z"))
      assert.equals(26, ctx.days_since("2026-11-01"))
      assert.equals(0, ctx.days_since("2026-11-27"))
      assert.equals(-1, ctx.days_since("2026-11-28"))
      assert.equals("2026-11-27", ctx.today)
      assert.has_error(function() ctx.days_since("soon") end)
    end)
  end)

  describe("progress bar", function()
    local progress = require "zlock.progress"

    it("renders done/total, percent, rate, ETA and failures; unknown totals as ?", function()
      local p = progress.new{ enabled = false, width = 100, label = "locking" }
      local line = p:render({ done = 50, total = 200, failed = 2 }, 10)
      assert.matches("^locking ", line)
      assert.matches(" 25%  50/200    5.0/s  ETA 0:30  failed 2", line, 1, true)
      line = p:render({ done = 7, failed = 0, skipped = 3 }, 2)
      assert.matches("?%  7/?    3.5/s  failed 0  skipped 3", line, 1, true)
      assert.equals("1:02:05", progress.duration(3725))
      assert.equals("0:59", progress.duration(59.4))
      assert.equals("--:--", progress.duration(nil))
    end)

    it("stays silent when not on a terminal", function()
      local f = io.tmpfile()
      local p = progress.new{ stream = f, enabled = false }
      p:update({ done = 1, total = 2 }, true)
      p:finish()
      f:seek("set")
      assert.equals("", f:read("*a"))
      f:close()
    end)
  end)
end)
