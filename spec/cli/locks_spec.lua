-- `zlock locks` and policies selecting `{ locks = true }`, as real processes against zlock-emu:
-- a failed call never reads as "no locks". Every failure surfaces (exit 1, what failed named);
-- locks read before a failure are printed marked INCOMPLETE.
local S = require "bulk.support"
local cjson = require "cjson.safe"

describe("zlock locks fails loudly", function()
  local e

  lazy_setup(function() e = S.start() end)
  lazy_teardown(function() if e then e:stop() end end)
  before_each(function() e:reset() end)

  it("exits 1 naming the error when the token is refused (not 'no locks')", function()
    local out, code, err = S.zlock(e, { "locks" }, { ZOHO_ACCESS_TOKEN = "1000.not-a-valid-token" })
    assert.equals(1, code, out .. err)
    assert.is_nil(out:find("no locks", 1, true))
    assert.matches("INCOMPLETE", err, 1, true)
    assert.matches("settings/modules", err, 1, true)
    assert.matches("INVALID_TOKEN", err, 1, true)
  end)

  it("exits 1 when the host cannot be reached", function()
    local out, code, err = S.zlock(e, { "locks" }, { ZOHO_API_DOMAIN = "http://127.0.0.1:1" })
    assert.equals(1, code, out .. err)
    assert.is_nil(out:find("no locks", 1, true))
    assert.matches("CONNECT", err, 1, true)
  end)

  it("exits 1 when the locking configurations cannot all be read (no module dropped silently)", function()
    -- settings/modules and 4 configuration reads (Leads..Deals), then every call is refused (credits)
    e:faults{ credits = 5 }
    local out, code, err = S.zlock(e, { "locks" })
    assert.equals(1, code, out .. err)
    assert.is_nil(out:find("no locks", 1, true))
    assert.matches("Tasks (locking configuration): CREDITS_EXHAUSTED", err, 1, true)
  end)

  it("prints the locks read before a failure, marked INCOMPLETE, and exits 1", function()
    local c = S.client(e)
    local leads = S.unlocked(e, "Leads", 2)
    for _, id in ipairs(leads) do assert(c:lock("Leads", id, "spec incomplete audit")) end
    c:close()
    -- 1 (modules) + 14 (configurations) + Leads: 1 (COQL) + 2 (lock lists) + Deals: 1 (COQL),
    -- then Deals' lock lists are refused
    e:faults{ credits = 19 }
    local out, code, err = S.zlock(e, { "locks", "--long" })
    assert.equals(1, code, out .. err)
    assert.matches("^INCOMPLETE", out)
    for _, id in ipairs(leads) do assert.matches(id, out, 1, true) end
    assert.is_nil(out:find("Deals", 1, true))
    assert.matches("Deals (locked records): CREDITS_EXHAUSTED", err, 1, true)
  end)

  it("fails a policy selecting { locks = true } whose selection failed (not an empty success)", function()
    local out, code, err = S.zlock(e, { "--json", "run", "examples/unlock_stale.lua" },
      { ZOHO_ACCESS_TOKEN = "1000.not-a-valid-token" })
    assert.equals(1, code, out .. err)
    local s = assert(cjson.decode(out), out)
    assert.equals(1, s.counts.failed)
    assert.equals("select", s.failures[1].op)
    assert.equals("INCOMPLETE", s.failures[1].error.code)
    assert.matches("INVALID_TOKEN", s.failures[1].error.message, 1, true)
  end)
end)
