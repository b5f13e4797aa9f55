-- The bulk runner: items stream through an engine, every item ends with exactly one
-- outcome, failures never stop the others, "already locked" is reconciled with a GET, the
-- journal makes a rerun skip what is done. Against zlock-emu over real sockets.
local S = require "bulk.support"
local org = require "helpers.emu_org"
local bulk = require "zlock.bulk"
local journal = require "zlock.journal"
local engine_seq = require "zlock.engine_seq"

describe("bulk runner", function()
  local e, c
  local pool

  lazy_setup(function()
    e = S.start()
    c = S.client(e)
    pool = S.unlocked(e, "Deals")
  end)

  lazy_teardown(function()
    if c then c:close() end
    if e then e:stop() end
  end)

  -- n unlocked deal ids never handed out before
  local function take(n)
    local out = {}
    for _ = 1, n do out[#out + 1] = assert(table.remove(pool), "out of unlocked deals") end
    return out
  end

  local function manual_locks(by, id)
    local n, list = 0, {}
    for _, l in ipairs(by[id] or {}) do
      if l.source == "Manual" then n = n + 1; list[#list + 1] = l end
    end
    return n, list
  end

  it("locks every item exactly once and counts it", function()
    local ids = take(12)
    local seen = {}
    local run = c:bulk{ on_result = function(item, res, err)
      seen[#seen + 1] = { id = item.record_id, outcome = item.outcome, lock = res and res.id, err = err }
    end }
    for _, id in ipairs(ids) do run:lock("Deals", id, "spec runner " .. id) end
    local s = run:finish()
    assert.equals(12, s.counts.locked)
    assert.equals(0, s.failed)
    assert.is_true(s.ok)
    assert.equals(12, #seen)
    local _, by = S.locks(e)
    for _, x in ipairs(seen) do
      assert.equals("locked", x.outcome)
      local n, list = manual_locks(by, x.id)
      assert.equals(1, n)
      assert.equals("spec runner " .. x.id, list[1].reason)
      assert.equals(list[1].lock_id, x.lock)
    end
    assert.same(s, run:finish())   -- finish is idempotent
  end)

  it("keeps going past failed items and lists each failure with its record and error", function()
    local good = take(4)
    local run = c:bulk{}
    run:lock("Deals", good[1], "spec mixed")
    run:lock("Deals", "1234567890123456789", "spec mixed")   -- no such record
    run:lock("Deals", good[2], "spec mixed")
    run:lock("Deals", "12ab", "spec mixed")                  -- malformed id: refused before any call
    run:lock("Nope_Module", good[3], "spec mixed")           -- unknown module
    run:lock("Deals", good[3], ("x"):rep(3001))              -- reason too long
    run:lock("Deals", good[4], "spec mixed")
    local s = run:finish()
    assert.equals(3, s.counts.locked)
    assert.equals(4, s.counts.failed)
    assert.equals(4, #s.failures)
    assert.is_false(s.ok)
    local by_id = {}
    for _, f in ipairs(s.failures) do by_id[f.module .. "/" .. f.record_id .. "/" .. (f.code or "?")] = f end
    assert.is_table(by_id["Deals/1234567890123456789/INVALID_DATA"])
    assert.is_table(by_id["Deals/12ab/INVALID_ARGUMENT"])
    assert.is_table(by_id["Nope_Module/" .. good[3] .. "/INVALID_MODULE"])
    assert.is_table(by_id["Deals/" .. good[3] .. "/INVALID_ARGUMENT"])
    for _, f in ipairs(s.failures) do
      assert.equals("lock", f.op)
      assert.is_string(f.message)
      assert.is_string(tostring(f.err))
    end
    local _, by = S.locks(e)
    assert.equals(1, (manual_locks(by, good[1])))
    assert.equals(1, (manual_locks(by, good[2])))
    assert.equals(0, (manual_locks(by, good[3])))
    assert.equals(1, (manual_locks(by, good[4])))
  end)

  it("raises on programmer mistakes (wrong types) before anything is queued", function()
    local run = c:bulk{}
    assert.has_error(function() run:lock("Deals", 5843104000001068086, "r") end)
    assert.has_error(function() run:lock("Deals", "1", nil) end)
    assert.has_error(function() c:bulk{ concurrency = 0 } end)
    assert.has_error(function() c:bulk{ on_result = "x" } end)
    -- each argument named, the error blamed on the caller's line (this file)
    local cases = {
      { function() run:lock(nil, "1", "r") end, "#1 to 'lock' %(module name expected, got nil%)" },
      { function() run:lock("Deals", 5, "r") end, "#2 to 'lock' %(record id string expected, got number%)" },
      { function() run:lock("Deals", "1", {}) end, "#3 to 'lock' %(reason string expected, got table%)" },
      { function() run:update("Deals", "1", "2", 3) end, "#4 to 'update' %(reason string expected, got number%)" },
      { function() run:update("Deals", "1", nil, "r") end, "#3 to 'update' %(lock id string expected, got nil%)" },
      { function() run:unlock("Deals", "1", 7) end, "#3 to 'unlock' %(lock id string expected, got number%)" },
    }
    for _, case in ipairs(cases) do
      local ok, err = pcall(case[1])
      assert.is_false(ok)
      assert.matches("runner_spec%.lua:%d+: bad argument " .. case[2], err)
    end
    assert.equals(0, run:finish().done)
  end)

  it("counts a record holding this manual lock as locked (reconciled), another lock as already_locked", function()
    local ids = take(2)
    local _, mine = org.lock(e, "Deals", ids[1], "spec same reason")
    local _, other = org.lock(e, "Deals", ids[2], "somebody else's lock")
    assert.is_string(mine); assert.is_string(other)
    local results = {}
    local run = c:bulk{ on_result = function(item, res) results[item.record_id] = { item.outcome, res } end }
    run:lock("Deals", ids[1], "spec same reason")
    run:lock("Deals", ids[2], "spec same reason")
    local s = run:finish()
    assert.equals(1, s.counts.locked)
    assert.equals(1, s.counts.already_locked)
    assert.equals("locked", results[ids[1]][1])
    assert.equals(mine, results[ids[1]][2].id)
    assert.is_true(results[ids[1]][2].reconciled)
    assert.equals("already_locked", results[ids[2]][1])
    assert.equals(other, results[ids[2]][2].id)
    local _, by = S.locks(e)
    assert.equals(1, #by[ids[1]])
    assert.equals(1, #by[ids[2]])
    assert.equals("somebody else's lock", by[ids[2]][1].reason)
  end)

  it("updates reasons, unlocks, and counts a lock that is already gone as already_unlocked", function()
    local ids = take(4)
    local _, l1 = org.lock(e, "Deals", ids[1], "spec before update")
    local _, l2 = org.lock(e, "Deals", ids[2], "spec to unlock")
    local _, l3 = org.lock(e, "Deals", ids[3], "spec unlocked twice")
    assert(e:req("DELETE", ("/crm/v8/Deals/%s/Locking_Information__s/%s"):format(ids[3], l3)).status == 200)
    local run = c:bulk{}
    run:update("Deals", ids[1], l1, "spec after update")
    run:unlock("Deals", ids[2], l2)
    run:unlock("Deals", ids[3], l3)     -- gone already: relation not found
    run:unlock("Deals", ids[4])         -- never locked: NOT_LOCKED
    run:get("Deals", ids[1])
    local s = run:finish()
    assert.same({ updated = 1, unlocked = 1, already_unlocked = 2, got = 1 }, s.counts)
    local _, by = S.locks(e)
    assert.equals("spec after update", by[ids[1]][1].reason)
    assert.is_nil(by[ids[2]])
    assert.is_nil(by[ids[3]])
    assert.is_nil(by[ids[4]])
  end)

  it("changes nothing and sends no lock request on a dry run", function()
    local ids = take(3)
    local before_state = e:state()
    local before = S.route_count(e, "locks.lock") + S.route_count(e, "locks.list")
    local outcomes = {}
    local run = c:bulk{ dry_run = true, on_result = function(item) outcomes[#outcomes + 1] = item.outcome end }
    for _, id in ipairs(ids) do run:lock("Deals", id, "spec dry") end
    run:unlock("Deals", ids[1])
    local s = run:finish()
    assert.equals(4, s.counts.planned)
    assert.same({ "planned", "planned", "planned", "planned" }, outcomes)
    assert.equals(before, S.route_count(e, "locks.lock") + S.route_count(e, "locks.list"))
    assert.same(before_state.locks, e:state().locks)
  end)

  it("journals finished items and skips them on a rerun; failed items are tried again", function()
    local ids = take(5)
    local jf = os.tmpname()
    local run = c:bulk{ journal = jf }
    for _, id in ipairs(ids) do run:lock("Deals", id, "spec journal") end
    run:lock("Deals", "1234567890123456780", "spec journal")   -- fails: no such record
    local s1 = run:finish()
    assert.equals(5, s1.counts.locked)
    assert.equals(1, s1.counts.failed)
    local text = S.slurp(jf)
    assert.equals(6, select(2, text:gsub("\n", "")))
    assert.is_nil(text:find("zlockemu", 1, true), "journal holds the token")
    assert.is_nil(text:find("spec journal", 1, true), "journal holds the reason")
    for line in text:gmatch("[^\n]+") do assert.is_table(require("cjson").decode(line)) end

    -- a dry run with the journal shows what is done, and writes nothing
    local size = #S.slurp(jf)
    local dry = c:bulk{ journal = jf, dry_run = true }
    for _, id in ipairs(ids) do dry:lock("Deals", id, "spec journal") end
    dry:lock("Deals", "1234567890123456780", "spec journal")
    local sd = dry:finish()
    assert.same({ skipped = 5, planned = 1 }, sd.counts)
    assert.equals(size, #S.slurp(jf))
    local nofile = os.tmpname()
    os.remove(nofile)
    c:bulk{ journal = nofile, dry_run = true }:finish()
    assert.is_nil(io.open(nofile))

    local locks_before = S.route_count(e, "locks.lock")
    local run2 = c:bulk{ journal = jf }
    for _, id in ipairs(ids) do run2:lock("Deals", id, "spec journal") end
    run2:lock("Deals", "1234567890123456780", "spec journal")
    local s2 = run2:finish()
    assert.equals(5, s2.counts.skipped)
    assert.equals(1, s2.counts.failed)
    assert.equals(1, S.route_count(e, "locks.lock") - locks_before)   -- only the failed item went out
    local _, by = S.locks(e)
    for _, id in ipairs(ids) do assert.equals(1, #by[id]) end
    os.remove(jf)
  end)

  it("reads a journal whose last line was torn by a kill and appends on a fresh line", function()
    local jf = S.tmpfile('{"key":"lock|Deals|1","outcome":"locked","at":1}\n{"key":"lock|Deals|2","outc')
    local j = assert(journal.open(jf))
    assert.is_true((j:done("lock|Deals|1")))
    assert.is_false((j:done("lock|Deals|2")))
    j:append("lock|Deals|3", "failed", { code = "INVALID_DATA" })
    j:close()
    local entries, n = journal.read(jf)
    assert.equals(2, n)
    assert.equals("failed", entries["lock|Deals|3"])
    assert.is_false((assert(journal.open(jf)):done("lock|Deals|3")))
    os.remove(jf)
  end)

  it("works with any engine honouring the interface: full engines, batches, out-of-order results", function()
    -- a real engine over the client's calls that holds up to 3 items and answers them in reverse
    -- order, only once full and only when poll may wait
    local inner = engine_seq.new(c)
    local held, submits, fulls = {}, 0, 0
    local engine = {
      submit = function(_, item)
        if #held >= 3 then fulls = fulls + 1; return false end
        submits = submits + 1
        held[#held + 1] = item
        return true
      end,
      poll = function(_, timeout)
        local out = {}
        if #held < 3 or timeout == 0 then return out end   -- answers need time to come back
        for i = #held, 1, -1 do
          assert(inner:submit(held[i]))
          out[#out + 1] = inner:poll(0)[1]
        end
        held = {}
        return out
      end,
      inflight = function() return #held end,
      stats = function() return { concurrency = 3, max = 3, retries = 0, throttled = 0 } end,
      close = function() end,
    }
    -- poll only answers full batches: finish() must keep polling; give it 6 items (two batches)
    local ids = take(6)
    local run = c:bulk{ engine = engine }
    for _, id in ipairs(ids) do run:lock("Deals", id, "spec engine " .. id) end
    local s = run:finish()
    assert.equals(6, submits)
    assert.is_true(fulls > 0)
    assert.equals(6, s.counts.locked)
    local _, by = S.locks(e)
    for _, id in ipairs(ids) do assert.equals("spec engine " .. id, by[id][1].reason) end
  end)

  it("uses the sequential engine when the client offers no concurrent one", function()
    local run = c:bulk{ sequential = true }
    local s = run:finish()
    assert.equals("sequential", s.engine.engine)
    assert.equals(bulk.DEFAULT_CONCURRENCY, 10)
  end)

  -- Every engine gets the same outcomes, because the core decides them. A fresh set of records
  -- in the states the items meet; returns the items and what each must end as (outcome, and the
  -- lock id its result names, when it names one).
  local function scenario(tag)
    local reason = "outcomes spec " .. tag
    local ours, other, free, mine_unlock, none, gone = table.unpack(take(6))
    local auto = org.auto_locked(e)
    local _, ours_id = org.lock(e, "Deals", ours, reason)
    local _, other_id = org.lock(e, "Deals", other, "somebody else")
    local _, unlock_id = org.lock(e, "Deals", mine_unlock, "to remove")
    local _, gone_id = org.lock(e, "Deals", gone, "removed already")
    assert(e:req("DELETE", ("/crm/v8/Deals/%s/Locking_Information__s/%s"):format(gone, gone_id)).status == 200)
    return {
      { "lock", ours, reason, want = "locked", id = ours_id, reconciled = true },
      { "lock", other, reason, want = "already_locked", id = other_id },
      { "lock", auto, reason, want = "already_locked" },
      { "lock", free, reason, want = "locked" },
      { "unlock", mine_unlock, want = "unlocked", id = unlock_id },
      { "unlock", none, want = "already_unlocked" },             -- no lock (NOT_LOCKED)
      { "unlock", gone, nil, gone_id, want = "already_unlocked" },  -- relation not found
      { "unlock", auto, want = "failed", code = "NOT_ALLOWED" },   -- an automatic lock cannot go
      { "get", ours, want = "got" },
    }
  end

  for _, engine in ipairs{ "C", "sequential" } do
    it(("counts what the core decided, the same on the %s engine"):format(engine), function()
      local cases = scenario(engine)
      local seen = {}
      local run = c:bulk{ sequential = engine == "sequential", concurrency = 4,
                          on_result = function(item, res, err) seen[item.i] = { item.outcome, res, err } end }
      for i, k in ipairs(cases) do
        local extra = { i = i }
        if k[1] == "lock" then run:lock("Deals", k[2], k[3], extra)
        elseif k[1] == "unlock" then run:unlock("Deals", k[2], k[4], extra)
        else run:get("Deals", k[2], nil, extra) end
      end
      local s = run:finish()
      assert.equals(engine == "C" and "multi" or "sequential", s.engine.engine)
      for i, k in ipairs(cases) do
        local got = assert(seen[i], "no result for case " .. i)
        assert.equals(k.want, got[1], ("case %d (%s %s)"):format(i, k[1], k.want))
        if k.id then assert.equals(k.id, got[2] and (got[2].id or got[2].details and got[2].details.id)) end
        if k.reconciled then assert.is_true(got[2].reconciled) end
        if k.want == "failed" then assert.equals(k.code, got[3].code) else assert.is_nil(got[3]) end
      end
      assert.same({ locked = 2, already_locked = 2, unlocked = 1, already_unlocked = 2, failed = 1, got = 1 },
                  s.counts)
      assert.equals(1, s.reconciled)
    end)
  end
end)

describe("bulk runner under faults", function()
  local e, c

  lazy_setup(function()
    e = S.start{ "--fail-rate", "0.2", "--drop-rate", "0.1" }
    c = S.client(e, { retries = { max_attempts = 3, base_delay = 0.01, max_delay = 0.05 } })
  end)

  lazy_teardown(function()
    if c then c:close() end
    if e then e:stop() end
  end)

  it("ends, after reruns with the journal, with exactly one lock per record and every failure explained", function()
    e:faults{ fail_rate = 0, drop_rate = 0 }
    local ids = S.unlocked(e, "Deals", 40)
    e:faults{ fail_rate = 0.2, drop_rate = 0.1 }
    local jf = os.tmpname()
    local runs, s = 0
    repeat
      runs = runs + 1
      local run = c:bulk{ journal = jf }
      for _, id in ipairs(ids) do run:lock("Deals", id, "spec faults " .. id) end
      s = run:finish()
      for _, f in ipairs(s.failures) do
        assert.is_string(f.code)
        assert.is_string(f.message)
      end
      assert.equals(40, s.done)
    until s.failed == 0 or runs == 6
    assert.equals(0, s.failed)
    e:faults{ fail_rate = 0, drop_rate = 0 }
    local _, by = S.locks(e)
    for _, id in ipairs(ids) do
      assert.equals(1, #by[id], "record " .. id .. " holds " .. #(by[id] or {}) .. " locks")
      assert.equals("spec faults " .. id, by[id][1].reason)
    end
    os.remove(jf)
  end)
end)
