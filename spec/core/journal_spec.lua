-- The bulk journal under every Lua ABI (a journal written by one interpreter is resumed by
-- another): the flock against a second run, the policy identity, and a journaled run against
-- zlock-emu that a rerun skips.
local S = require "core.support"
local journal = require "zlock.journal"
local core = require "zlock.core"

describe("journal (" .. _VERSION .. (rawget(_G, "jit") and ", LuaJIT" or "") .. ")", function()
  local e

  lazy_setup(function() e = S.start() end)
  lazy_teardown(function() if e then e:stop() end end)

  local function tmp()
    local f = os.tmpname()
    os.remove(f)
    return f
  end

  it("holds an flock that a second holder, in this process or another, cannot take", function()
    local jf = tmp()
    local j = assert(journal.open(jf))
    local again, err = journal.open(jf)
    assert.is_nil(again)
    assert.equals("JOURNAL", err.code)
    assert.matches("locked by another process", err.message, 1, true)
    -- util-linux flock(1): flock(2) from another process
    local held = os.execute("flock -n " .. S.shell_quote(jf) .. " true")
    assert.is_true(held ~= true and held ~= 0)
    assert.is_true(j:close())
    local free = os.execute("flock -n " .. S.shell_quote(jf) .. " true")
    assert.is_true(free == true or free == 0)
    assert(journal.open(jf)):close()
    os.remove(jf)
  end)

  it("gives a policy the same identity under every Lua version", function()
    local id = journal.identity{ name = "n", action = "lock", module = "Deals", reason = "spec ${id} é" }
    -- the two 32-bit polynomial hashes of the UTF-8 bytes (5381*33+c, 0*65599+c mod 2^32)
    assert.same({ name = "n", action = "lock", module = "Deals", reason = "6e1ec1254d42d180" }, id)
  end)

  it("resumes a journaled run and refuses another identity, before any request", function()
    local c = S.client(e)
    local ids = {}
    for i = 1, 3 do ids[i] = S.org.fresh(e, "Deals") end
    local jf = tmp()
    local id = { name = "spec", action = "lock", module = "Deals", reason = "x" }
    local run = assert(c:bulk{ journal = jf, journal_identity = id, sequential = true })
    for _, rid in ipairs(ids) do run:lock("Deals", rid, "spec journal " .. rid) end
    local s = run:finish()
    assert.equals(3, s.counts.locked)
    assert.is_nil(s.journal_error)
    local before = S.api_requests(e)
    local none, err = c:bulk{ journal = jf, journal_identity = { name = "other", action = "lock" } }
    assert.is_nil(none)
    assert.matches('belongs to policy "spec"', err.message, 1, true)
    run = assert(c:bulk{ journal = jf, journal_identity = id, sequential = true })
    for _, rid in ipairs(ids) do run:lock("Deals", rid, "spec journal " .. rid) end
    assert.equals(3, run:finish().counts.skipped)
    assert.equals(before, S.api_requests(e))
    c:close()
    os.remove(jf)
  end)

  it("lists the environment's names", function()
    local out, ok = S.run_lua("for _, n in ipairs(require('zlock.core').environ_names()) do print(n) end",
      { ZLOCK_SPEC_NAME = "1" })
    assert.is_true(ok, out)
    assert.matches("\nZLOCK_SPEC_NAME\n", "\n" .. out, 1, true)
    assert.is_table(core.environ_names())
  end)
end)
