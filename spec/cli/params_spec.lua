-- Policy parameters from `--param` and `ZLOCK_<NAME>`, through the `zlock` command against
-- zlock-emu: a misspelt name is refused before any request, naming the known parameters; an
-- unrelated ZLOCK_* variable is only a warning; zlock's own settings are neither.
local S = require "bulk.support"
local params = require "zlock.params"

local POLICY = "examples/lock_closed_lost.lua"

describe("policy parameters", function()
  local e

  lazy_setup(function() e = S.start() end)
  lazy_teardown(function() if e then e:stop() end end)

  -- CRM requests the emulator answered (its admin routes excluded)
  local function crm_requests()
    local n = 0
    for route in pairs(e:stats().requests or {}) do
      if route ~= "admin" then n = n + S.route_count(e, route) end
    end
    return n
  end

  it("refuses a misspelt --param before any request, naming the known parameters", function()
    local before = crm_requests()
    local _, code, err = S.zlock(e, { "run", POLICY, "--param", "day=200" })
    assert.equals(2, code, err)
    assert.matches("--param day: not a parameter of this policy: did you mean days? (known: days)", err, 1, true)
    _, code, err = S.zlock(e, { "run", POLICY, "--dry-run", "--param", "threshold=5" })
    assert.equals(2, code, err)
    assert.matches("--param threshold: not a parameter of this policy (known: days)", err, 1, true)
    assert.equals(before, crm_requests())
  end)

  it("refuses a misspelt ZLOCK_<NAME> before any request", function()
    local before = crm_requests()
    local _, code, err = S.zlock(e, { "run", POLICY }, { ZLOCK_DAY = "200" })
    assert.equals(2, code, err)
    assert.matches("ZLOCK_DAY is not a parameter of this policy: did you mean ZLOCK_DAYS? (known: days)", err, 1, true)
    assert.equals(before, crm_requests())
  end)

  it("warns about an unrelated ZLOCK_* variable and runs; takes zlock's own settings silently", function()
    local s, code, err = S.zlock_json(e, { "run", POLICY, "--dry-run" }, { ZLOCK_FLAVOUR = "x", ZLOCK_DAYS = "200" })
    assert.equals(0, code, err)
    assert.is_table(s.plan)
    assert.matches("warning: environment ZLOCK_FLAVOUR is not a parameter of this policy nor a zlock setting", err, 1,
      true)
    s, code, err = S.zlock_json(e, { "run", POLICY, "--dry-run" }, { ZLOCK_EMU = "build/zlock-emu" })
    assert.is_table(s)
    assert.equals(0, code, err)
    assert.equals("", err)
  end)

  it("never takes a zlock setting for a misspelt parameter", function()
    local p = { params = { prefix = "Q4", days = 30, n = 3 } }
    local env = { ZLOCK_REDIS_URL = "redis://127.0.0.1", ZLOCK_PROFILE = "eu", ZLOCK_LOG = "debug",
                  ZLOCK_ORG_LIMIT = "1000", ZLOCK_PROXY = "http://127.0.0.1:3128", ZLOCK_NO = "1" }
    local names = {}
    for k in pairs(env) do names[#names + 1] = k end
    local got, err, warnings = params.resolve(p, nil, function(k) return env[k] end, names)
    assert.is_nil(err)
    assert.same({ prefix = "Q4", days = 30, n = 3 }, got)
    assert.equals(1, #warnings)   -- ZLOCK_NO: too far from `n` (one letter) to be a misspelling
    assert.matches("ZLOCK_NO", warnings[1], 1, true)
    env.ZLOCK_PREFX = "Q1"
    names[#names + 1] = "ZLOCK_PREFX"
    got, err = params.resolve(p, nil, function(k) return env[k] end, names)
    assert.is_nil(got)
    assert.matches("did you mean ZLOCK_PREFIX?", err, 1, true)
  end)
end)
