-- The example policies, each run through `bin/zlock run` against zlock-emu's demo
-- org, dry and real; the expected records are computed here from the emulator's own record
-- list and state, and the final state is checked lock by lock.
local S = require "bulk.support"
local cjson = require "cjson"

-- Whole days since a date, computed independently of zlock.policy.
local function days_since(s)
  local y, m, d, H, M, sec, tz = s:match("^(%d+)-(%d+)-(%d+)T?(%d*):?(%d*):?(%d*)(.*)$")
  local t = os.time{ year = tonumber(y), month = tonumber(m), day = tonumber(d),
                     hour = tonumber(H) or 0, min = tonumber(M) or 0, sec = tonumber(sec) or 0 }
  -- os.time read those fields as local time: shift to UTC
  local now = os.time()
  local utc_offset = os.time(os.date("*t", now)) - os.time(os.date("!*t", now))
  t = t + utc_offset
  local sign, oh, om = (tz or ""):match("^([+-])(%d%d):(%d%d)$")
  if sign then
    local off = tonumber(oh) * 3600 + tonumber(om) * 60
    t = sign == "+" and t - off or t + off
  end
  return math.floor((now - t) / 86400)
end

local function ids_in_plan(plan)
  local s = {}
  for _, p in ipairs(plan) do s[p.record_id] = p end
  return s
end

describe("example policies", function()
  local e

  lazy_setup(function() e = S.start() end)
  lazy_teardown(function() if e then e:stop() end end)
  before_each(function() e:reset() end)

  local function deals(fields)
    return S.records(e, "Deals", fields)
  end

  describe("lock_closed_lost.lua", function()
    local function expected(days)
      local _, by = S.locks(e)
      local want = {}
      for _, d in ipairs(deals("Deal_Name,Stage,Closing_Date")) do
        if d.Stage == "Closed Lost" and not by[d.id] and days_since(d.Closing_Date) > days then want[d.id] = d end
      end
      return want
    end

    it("plans exactly the Closed Lost deals older than N days on a dry run, and changes nothing", function()
      local want = expected(30)
      assert.is_true(S.count(want) > 5, "the demo org should have old Closed Lost deals")
      local before = e:state()
      local s, code = S.zlock_json(e, { "run", "examples/lock_closed_lost.lua", "--dry-run" })
      assert.equals(0, code)
      assert.is_true(s.dry_run)
      local got = ids_in_plan(s.plan)
      assert.equals(S.count(want), S.count(got))
      for id in pairs(want) do
        assert.is_table(got[id], "deal " .. id .. " missing from the plan")
        assert.equals("lock", got[id].action)
        assert.matches("closed %d+ days ago", got[id].why)
      end
      assert.equals(S.count(want), s.counts.planned)
      assert.same(before.locks, e:state().locks)
      -- the human plan lists the same records
      local out, code2 = S.zlock(e, { "run", "examples/lock_closed_lost.lua", "--dry-run" })
      assert.equals(0, code2)
      for id in pairs(want) do assert.matches(id, out, 1, true) end
      assert.matches("planned (dry run)", out, 1, true)
    end)

    it("locks them, with the reason from the template, and nothing else", function()
      local want = expected(30)
      local before = S.locks(e)
      local s, code = S.zlock_json(e, { "run", "examples/lock_closed_lost.lua" })
      assert.equals(0, code)
      assert.equals(S.count(want), s.counts.locked)
      local after, by = S.locks(e)
      assert.equals(#before + S.count(want), #after)
      for id, d in pairs(want) do
        assert.equals(1, #by[id])
        assert.equals("Manual", by[id][1].source)
        assert.equals("Closed Lost on " .. d.Closing_Date .. ": locked by policy lock_closed_lost", by[id][1].reason)
      end
      -- a second run finds nothing left to do
      s, code = S.zlock_json(e, { "run", "examples/lock_closed_lost.lua" })
      assert.equals(0, code)
      assert.equals(0, s.matched)
      assert.equals(#after, #S.locks(e))
    end)

    it("takes N from --param and from the environment", function()
      local want = expected(200)
      assert.is_true(S.count(want) < S.count(expected(30)))
      local s = S.zlock_json(e, { "run", "examples/lock_closed_lost.lua", "--dry-run", "--param", "days=200" })
      assert.equals(S.count(want), #s.plan)
      s = S.zlock_json(e, { "run", "examples/lock_closed_lost.lua", "--dry-run" }, { ZLOCK_DAYS = "200" })
      assert.equals(S.count(want), #s.plan)
      local _, code, err = S.zlock(e, { "run", "examples/lock_closed_lost.lua", "--param", "days=soon" })
      assert.equals(2, code)
      assert.matches("days must be a number", err, 1, true)
    end)
  end)

  describe("lock_negotiation.lua", function()
    it("locks the unlocked Negotiation/Review deals with a reason naming the owner (dry, then real)", function()
      local _, by0 = S.locks(e)
      local want = {}
      for _, d in ipairs(deals("Deal_Name,Stage,Owner")) do
        if d.Stage == "Negotiation/Review" and not by0[d.id] then want[d.id] = d end
      end
      assert.is_true(S.count(want) > 0)
      local plan, code = S.zlock_json(e, { "run", "examples/lock_negotiation.lua", "--dry-run" })
      assert.equals(0, code)
      assert.equals(S.count(want), #plan.plan)
      for id in pairs(ids_in_plan(plan.plan)) do assert.is_table(want[id]) end

      local s
      s, code = S.zlock_json(e, { "run", "examples/lock_negotiation.lua" })
      assert.equals(0, code)
      assert.equals(S.count(want), s.counts.locked)
      local _, by = S.locks(e)
      for id, d in pairs(want) do
        assert.equals(1, #by[id])
        assert.equals("In negotiation: terms are being agreed. Ask " .. d.Owner.name .. " before changing this deal.",
          by[id][1].reason)
      end
    end)
  end)

  describe("unlock_stale.lua", function()
    local function stale(days, prefix)
      local want = {}
      for _, l in ipairs((S.locks(e))) do
        if l.source == "Manual" and type(l.reason) == "string" and l.reason:sub(1, #prefix) == prefix
           and days_since(l.locked_time) > days then
          want[l.lock_id] = l
        end
      end
      return want
    end

    it("removes exactly the manual locks older than N days whose reason has the prefix (dry, then real)", function()
      -- a fresh manual lock with the same prefix must stay (too young), like the automatic ones
      local young = S.unlocked(e, "Deals", 1)[1]
      assert.equals(0, select(2, S.zlock(e, { "lock", "Deals", young, "--reason", "last round, but today" })))
      local want = stale(30, "last round")
      assert.is_true(S.count(want) > 0, "the demo org should hold old manual locks")
      local before = S.locks(e)

      local plan, code = S.zlock_json(e, { "run", "examples/unlock_stale.lua", "--dry-run",
                                           "--param", "prefix=last round" })
      assert.equals(0, code)
      assert.equals(S.count(want), #plan.plan)
      for _, p in ipairs(plan.plan) do
        assert.is_table(want[p.lock_id])
        assert.equals("unlock", p.action)
      end
      assert.equals(#before, #S.locks(e))

      local s
      s, code = S.zlock_json(e, { "run", "examples/unlock_stale.lua" }, { ZLOCK_PREFIX = "last round" })
      assert.equals(0, code)
      assert.equals(S.count(want), s.counts.unlocked)
      local after = S.locks(e)
      assert.equals(#before - S.count(want), #after)
      for _, l in ipairs(after) do assert.is_nil(want[l.lock_id]) end
      local _, by = S.locks(e)
      assert.equals("last round, but today", by[young][1].reason)
    end)
  end)

  describe("export_locks_csv.lua", function()
    local function parse_csv(text)
      local rows = {}
      for line in text:gmatch("[^\n]+") do
        local row, pos = {}, 1
        while pos <= #line + 1 do
          local c = line:sub(pos, pos)
          if c == '"' then
            local val, i = {}, pos + 1
            while true do
              local q = line:find('"', i, true)
              val[#val + 1] = line:sub(i, q - 1)
              if line:sub(q + 1, q + 1) == '"' then val[#val + 1] = '"'; i = q + 2 else pos = q + 2; break end
            end
            row[#row + 1] = table.concat(val)
          else
            local comma = line:find(",", pos, true) or (#line + 1)
            row[#row + 1] = line:sub(pos, comma - 1)
            pos = comma + 1
          end
        end
        rows[#rows + 1] = row
      end
      return rows
    end

    it("writes one CSV row per lock of the org, to stdout or to params.out (dry and real alike)", function()
      local id = S.unlocked(e, "Deals", 1)[1]
      S.zlock(e, { "lock", "Deals", id, "--reason", 'quoted "reason", with comma' })
      local locks = S.locks(e)
      for _, dry in ipairs{ true, false } do
        local args = { "run", "examples/export_locks_csv.lua" }
        if dry then args[#args + 1] = "--dry-run" end
        local out, code = S.zlock(e, args)
        assert.equals(0, code)
        local rows = parse_csv(out)
        assert.same({ "module", "record_id", "record_name", "lock_id", "source", "locked_time", "locked_by", "reason" },
          rows[1])
        assert.equals(#locks + 1, #rows)
        local byid = {}
        for i = 2, #rows do byid[rows[i][4]] = rows[i] end
        for _, l in ipairs(locks) do
          local r = byid[l.lock_id]
          assert.is_table(r, "lock " .. l.lock_id .. " missing")
          assert.equals(l.module, r[1])
          assert.equals(l.record_id, r[2])
          assert.equals(l.source, r[5])
          assert.equals(type(l.reason) == "string" and l.reason or "", r[8])
        end
      end
      local file = os.tmpname()
      local out, code = S.zlock(e, { "run", "examples/export_locks_csv.lua", "--param", "out=" .. file })
      assert.equals(0, code)
      assert.matches(#locks .. " rows written", out, 1, true)
      assert.equals(#locks + 1, #parse_csv(S.slurp(file)))
      os.remove(file)
      assert.is_not_nil(cjson)
    end)
  end)
end)
