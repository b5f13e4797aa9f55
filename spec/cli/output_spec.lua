-- Output that cannot be written (stdout or a report file on /dev/full: every write fails
-- with ENOSPC) fails the `zlock` command instead of ending with exit 0.
local S = require "bulk.support"

describe("zlock output that cannot be written", function()
  local e

  lazy_setup(function() e = S.start() end)
  lazy_teardown(function() if e then e:stop() end end)

  -- `bin/zlock ARGS` with stdout on /dev/full (every write: ENOSPC); returns status, stderr
  local function to_full(args)
    local errf = os.tmpname()
    local parts = { S.env(e), "bin/zlock" }
    for _, a in ipairs(args) do parts[#parts + 1] = S.quote(a) end
    local ok, _, code = os.execute(table.concat(parts, " ") .. " >/dev/full 2>" .. S.quote(errf) .. " </dev/null")
    local err = S.slurp(errf)
    os.remove(errf)
    return ok == true and 0 or code, err
  end

  it("fails a command whose output could not be written", function()
    local code, err = to_full{ "locks", "--long" }
    assert.equals(1, code, err)
    assert.matches("cannot write the output", err, 1, true)
    code, err = to_full{ "--json", "get", "Deals", S.unlocked(e, "Deals", 1)[1] }
    assert.equals(1, code, err)
  end)

  it("fails a report whose rows could not be written", function()
    local code, err = to_full{ "run", "examples/export_locks_csv.lua" }
    assert.equals(1, code, err)
    assert.matches("cannot write the report", err, 1, true)
    local _, code2, err2 = S.zlock(e, { "run", "examples/export_locks_csv.lua", "--param", "out=/dev/full" })
    assert.equals(1, code2, err2)
    assert.matches("cannot write the report", err2, 1, true)
  end)
end)
