-- Every engine gets the same outcomes, because the core decides them: the same items through
-- the C engine and the sequential one end the same way (a lock already ours, another's lock,
-- an automatic lock, an unlock without a lock id, a gone lock, a record with no lock).
-- Against zlock-emu over real sockets.
local S = require "bulk.support"
local org = require "helpers.emu_org"

describe("outcomes on every engine", function()
  local e, c

  lazy_setup(function()
    e = S.start()
    c = S.client(e)
  end)

  lazy_teardown(function()
    if c then c:close() end
    if e then e:stop() end
  end)

  -- A fresh set of records in the states the items meet; returns the items and what each must
  -- end as (outcome, and the lock id its result names, when it names one).
  local function scenario(tag)
    local reason = "outcomes spec " .. tag
    local ours, other, free, mine_unlock, none, gone = org.fresh(e, "Deals"), org.fresh(e, "Deals"),
      org.fresh(e, "Deals"), org.fresh(e, "Deals"), org.fresh(e, "Deals"), org.fresh(e, "Deals")
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
    it(("the %s engine: what the core decided, counted by the runner"):format(engine), function()
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
