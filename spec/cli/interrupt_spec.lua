-- Ctrl-C (SIGINT) on a running `zlock run`: it stops sending, lets the calls in flight finish
-- and journals them, says how to resume and exits 130; the rerun with the same journal ends
-- exact. SIGINT is one error object (code INTERRUPTED) raised by the CLI's trap, not a text.
local S = require "bulk.support"

local POLICY = "spec/bulk/fixtures/lock_qualification.lua"

local lines = S.lines

-- Starts `zlock ARGS` in the background; returns its pid and the file its exit status lands in.
local function spawn(e, args)
  local base = os.tmpname()
  local q = {}
  for i, a in ipairs(args) do q[i] = S.quote(a) end
  local inner = S.env(e) .. " bin/zlock " .. table.concat(q, " ") .. " >" .. S.quote(base .. ".out")
    .. " 2>" .. S.quote(base .. ".err") .. " </dev/null & echo $!; wait $!; echo $? >" .. S.quote(base .. ".rc")
  local p = assert(io.popen("(sh -c " .. S.quote(inner) .. " &)", "r"))
  local pid = tonumber(p:read("*l"))
  p:close()
  return pid, base
end

describe("zlock run and SIGINT", function()
  local e

  lazy_setup(function()
    -- ~100 target deals at 100 ms per call, 5 in flight: the run lasts ~2 s
    e = S.start{ "--records", "Deals=600", "--latency", "100" }
  end)

  lazy_teardown(function()
    if e then e:stop() end
  end)

  it("stops, journals what was in flight, exits 130; the rerun resumes to the exact state", function()
    local want = {}
    for _, d in ipairs(S.records(e, "Deals", "Stage")) do
      if d.Stage == "Qualification" then want[d.id] = true end
    end
    local n = S.count(want)
    assert.is_true(n > 30, "targets: " .. n)
    local _, before = S.locks(e)
    local journal = os.tmpname()
    os.remove(journal)
    local pid, base = spawn(e, { "run", POLICY, "--journal", journal, "--concurrency", "5", "--no-progress" })
    assert.is_number(pid)
    assert.is_true(S.wait_for(function() return lines(journal) >= 10 end, 60), "the run journals items")
    os.execute("kill -INT " .. pid)
    assert.is_true(S.wait_for(function() return S.slurp(base .. ".rc") ~= "" end, 30), "zlock ends after SIGINT")
    local rc = tonumber(S.slurp(base .. ".rc"))
    local err = S.slurp(base .. ".err")
    assert.equals(130, rc, err)
    assert.matches("interrupted", err, 1, true)
    assert.matches(journal, err, 1, true)
    assert.matches("run the same command again", err, 1, true)
    assert.is_nil(err:find("interrupted!", 1, true), "the interpreter's own text never shows")
    assert.is_nil(err:find("traceback", 1, true))

    assert.matches("the calls in flight finish first", err, 1, true)
    -- stopped early: some but not all targets are locked, and every one locked is in the journal
    -- (the interrupt never cuts an item between its submission and its record)
    local done = lines(journal)
    local _, by = S.locks(e)
    local locked = 0
    for id in pairs(want) do if by[id] and not before[id] then locked = locked + 1 end end
    assert.is_true(locked < n, "the run stopped before the end")
    assert.equals(locked, done, "records locked by the run vs journal lines")

    local s, code = S.zlock_json(e, { "run", POLICY, "--journal", journal, "--concurrency", "5" })
    assert.equals(0, code)
    assert.is_true(s.counts.skipped >= 10)
    _, by = S.locks(e)
    for id in pairs(want) do
      assert.is_table(by[id], "deal " .. id .. " is not locked")
      assert.equals(1, #by[id])
      assert.equals("spec kill " .. id, by[id][1].reason)
    end
    for _, x in ipairs{ ".out", ".err", ".rc", "" } do os.remove(base .. x) end
    os.remove(journal)
  end)
end)
