-- Black-box spec: zlock-emu answers the four Locking_Information__s operations the way
-- Zoho documents them (Zoho's documentation, Zoho's OpenAPI record_locking.json,
-- the seed article's sample requests and responses).
local emu = require "helpers.emu"
local shape = require "helpers.zoho_shape"
local org = require "helpers.emu_org"
local many = require "helpers.http_many"

local function lock_path(v, module, id, lock_id)
  return ("/crm/%s/%s/%s/Locking_Information__s%s"):format(v, module, id, lock_id and ("/" .. lock_id) or "")
end

describe("zlock-emu Locking_Information__s", function()
  local e
  lazy_setup(function() e = emu.start{ "--seed", "demo" } end)
  lazy_teardown(function() if e then e:stop() end end)

  describe("lock (POST)", function()
    it("answers 201 with Zoho's success item, keys in order code, details, message, status", function()
      local id = org.fresh(e, "Deals")
      local res = org.lock(e, "Deals", id, "last round of negotiations ")
      shape.status(res, 201, "lock")
      local c = shape.compact(res.body)
      local want = '^{"data":%[{"code":"SUCCESS","details":%b{},"message":"record added","status":"success"}%]}$'
      assert.truthy(c:match(want),
        "201 body: " .. res.body)
    end)

    it("puts the lock id, creation and modification stamps and users in details", function()
      local id = org.fresh(e, "Deals")
      local res = org.lock(e, "Deals", id, "details check")
      shape.status(res, 201, "lock")
      local d = res.json.data[1].details
      assert.is_true(shape.is_id(d.id), "details.id must be an id string: " .. res.body)
      assert.are.equal(19, #d.id, "demo ids are 19 digits: " .. res.body)
      assert.truthy(shape.compact(res.body):find('"id":"' .. d.id .. '"', 1, true), "id is a JSON string")
      assert.is_true(shape.is_datetime(d.Created_Time), "Created_Time: " .. res.body)
      assert.is_true(shape.is_datetime(d.Modified_Time), "Modified_Time: " .. res.body)
      shape.user(d.Created_By, "Created_By")
      shape.user(d.Modified_By, "Modified_By")
    end)

    it("hands out a different lock id for every lock", function()
      local seen = {}
      for _ = 1, 5 do
        local res, lid = org.lock(e, "Deals", org.fresh(e, "Deals"), "distinct ids")
        shape.status(res, 201, "lock")
        assert.is_nil(seen[lid], "lock id reused: " .. tostring(lid))
        seen[lid] = true
      end
    end)

    it("accepts a reason of exactly 3000 characters, counted as characters not bytes", function()
      local id = org.fresh(e, "Deals")
      local reason = ("é"):rep(3000) -- 3000 characters, 6000 bytes of UTF-8
      local res, lid = org.lock(e, "Deals", id, reason)
      shape.status(res, 201, "lock with 3000 two-byte characters")
      local got = e:req("GET", lock_path("v8", "Deals", id, lid))
      shape.status(got, 200, "get")
      assert.are.equal(reason, got.json.data[1].Locked_Reason__s)
    end)

    it("locks a record of the manual-only Leads configuration", function()
      local id = org.fresh(e, "Leads")
      local res, lid = org.lock(e, "Leads", id, "lead on hold")
      shape.status(res, 201, "lock a lead")
      local got = e:req("GET", lock_path("v8", "Leads", id, lid))
      shape.status(got, 200, "get lead lock")
      assert.are.equal("Leads", got.json.data[1].Locked_For__s.module.api_name)
    end)
  end)

  describe("get one (GET .../{lock_id})", function()
    local id, lid, reason
    lazy_setup(function()
      id = org.fresh(e, "Deals")
      reason = "awaiting final approval \"quoted\" ünïcode"
      local res
      res, lid = org.lock(e, "Deals", id, reason)
      shape.status(res, 201, "lock")
    end)

    it("answers 200 {data:[lock]} with every lock field of a manual lock", function()
      local res = e:req("GET", lock_path("v8", "Deals", id, lid))
      shape.status(res, 200, "get one")
      assert.are.equal(1, #res.json.data)
      local l = res.json.data[1]
      assert.are.equal(lid, l.id)
      assert.are.equal(reason, l.Locked_Reason__s)
      assert.are.equal("Manual", l.Lock_Source__s)
      assert.are.equal("record_locking", l.Feature_Type__s)
      assert.is_true(shape.is_datetime(l.Locked_Time__s), "Locked_Time__s: " .. tostring(l.Locked_Time__s))
      shape.user(l.Locked_By__s, "Locked_By__s")
      assert.are.equal(shape.null, l.Record_Locking_Rule_Id__s, "manual locks have no rule id")
      assert.is_true(shape.is_id(l.Record_Locking_Configuration_Id__s), "configuration id string")
    end)

    it("fills Locked_For__s with {module:{api_name,id}, name, id} of the locked record", function()
      local res = e:req("GET", lock_path("v8", "Deals", id, lid))
      shape.status(res, 200, "get one")
      local lf = res.json.data[1].Locked_For__s
      assert.are.equal("table", type(lf), "Locked_For__s: " .. res.body)
      assert.are.equal(id, lf.id)
      assert.are.equal("Deals", lf.module.api_name)
      assert.is_true(shape.is_id(lf.module.id), "module id string: " .. res.body)
      local names = {}
      for _, r in ipairs(org.records(e, "Deals")) do names[r.id] = r.Deal_Name end
      assert.are.equal(names[id], lf.name, "Locked_For__s.name is the deal's name")
    end)

    it("points Record_Locking_Configuration_Id__s at the Deals configuration", function()
      local cfg = org.config(e, "Deals")
      local res = e:req("GET", lock_path("v8", "Deals", id, lid))
      shape.status(res, 200, "get one")
      assert.are.equal(cfg.id, res.json.data[1].Record_Locking_Configuration_Id__s)
    end)

    it("gives Locked_By__s the current user", function()
      local me = e:req("GET", "/crm/v8/users?type=CurrentUser")
      shape.status(me, 200, "current user")
      local res = e:req("GET", lock_path("v8", "Deals", id, lid))
      assert.are.equal(me.json.users[1].id, res.json.data[1].Locked_By__s.id)
    end)

    it("keeps 19-digit ids as JSON strings in the raw body", function()
      local res = e:req("GET", lock_path("v8", "Deals", id, lid))
      local c = shape.compact(res.body)
      assert.truthy(c:find('"id":"' .. lid .. '"', 1, true), c)
      assert.falsy(c:find('"id":%d'), "an id went out as a JSON number: " .. c)
      assert.falsy(c:find('_Id__s":%d'), "a *_Id__s went out as a JSON number: " .. c)
    end)
  end)

  describe("get list (GET ...?fields=)", function()
    it("answers 204 with an empty body when the record is not locked", function()
      local id = org.fresh(e, "Deals")
      local res = e:req("GET", lock_path("v8", "Deals", id) .. "?fields=" .. org.ALL_FIELDS)
      shape.status(res, 204, "list on an unlocked record")
      assert.are.equal("", res.body)
    end)

    it("answers 200 with data and the info object once the record is locked", function()
      local id = org.fresh(e, "Deals")
      local _, lid = org.lock(e, "Deals", id, "listed")
      local res = e:req("GET", lock_path("v8", "Deals", id) .. "?fields=" .. org.ALL_FIELDS)
      shape.status(res, 200, "list")
      assert.are.equal(1, #res.json.data)
      assert.are.equal(lid, res.json.data[1].id)
      assert.are.equal("Manual", res.json.data[1].Lock_Source__s)
      local info = res.json.info
      assert.are.equal("table", type(info), "info object: " .. res.body)
      assert.are.equal(1, info.count)
      assert.are.equal(1, info.page)
      assert.is_number(info.per_page)
      assert.is_false(info.more_records)
      for _, k in ipairs{ "next_page_token", "previous_page_token", "page_token_expiry" } do
        assert.is_not_nil(info[k], "info." .. k .. " present (null allowed): " .. res.body)
      end
    end)

    it("honours page and per_page in info", function()
      local id = org.fresh(e, "Deals")
      org.lock(e, "Deals", id, "paged")
      local res = e:req("GET", lock_path("v8", "Deals", id) .. "?fields=Lock_Source__s&page=1&per_page=5")
      shape.status(res, 200, "list page 1 per_page 5")
      assert.are.equal(5, res.json.info.per_page)
      assert.are.equal(1, res.json.info.page)
    end)

    it("filters by ids", function()
      local id = org.fresh(e, "Deals")
      local _, lid = org.lock(e, "Deals", id, "by ids")
      local res = e:req("GET", lock_path("v8", "Deals", id) .. "?fields=Lock_Source__s&ids=" .. lid)
      shape.status(res, 200, "list with ids")
      assert.are.equal(lid, res.json.data[1].id)
    end)

    it("returns the requested fields and id, not the unrequested ones", function()
      local id = org.fresh(e, "Deals")
      local _, lid = org.lock(e, "Deals", id, "only some fields")
      local res = e:req("GET", lock_path("v8", "Deals", id) .. "?fields=Lock_Source__s,Locked_Time__s")
      shape.status(res, 200, "list with two fields")
      local l = res.json.data[1]
      assert.are.equal(lid, l.id)
      assert.are.equal("Manual", l.Lock_Source__s)
      assert.is_true(shape.is_datetime(l.Locked_Time__s))
      assert.is_nil(l.Locked_Reason__s, "Locked_Reason__s was not requested: " .. res.body)
    end)

    it("reports next_page_token null when everything fits one page", function()
      local id = org.fresh(e, "Deals")
      org.lock(e, "Deals", id, "token")
      local res = e:req("GET", lock_path("v8", "Deals", id) .. "?fields=Lock_Source__s")
      shape.status(res, 200, "list")
      assert.are.equal(shape.null, res.json.info.next_page_token, "one page: no next token")
    end)
  end)

  describe("update reason (PUT .../{lock_id})", function()
    it("answers 200 relation updated with exactly {code,details:{id},message,status}", function()
      local id = org.fresh(e, "Deals")
      local _, lid = org.lock(e, "Deals", id, "last round of negotiations ")
      local res = e:req("PUT", lock_path("v8", "Deals", id, lid),
        { body = { data = { { Locked_Reason__s = "awaiting final approval" } } } })
      shape.exact_success(res, 200, lid, "relation updated")
    end)

    it("changes the stored reason and nothing else", function()
      local id = org.fresh(e, "Deals")
      local _, lid = org.lock(e, "Deals", id, "before")
      local before = e:req("GET", lock_path("v8", "Deals", id, lid)).json.data[1]
      local res = e:req("PUT", lock_path("v8", "Deals", id, lid),
        { body = { data = { { Locked_Reason__s = "after" } } } })
      shape.status(res, 200, "update")
      local after = e:req("GET", lock_path("v8", "Deals", id, lid)).json.data[1]
      assert.are.equal("after", after.Locked_Reason__s)
      assert.are.equal(before.id, after.id)
      assert.are.equal(before.Lock_Source__s, after.Lock_Source__s)
      assert.are.same(before.Locked_For__s, after.Locked_For__s)
      assert.are.equal(before.Locked_Time__s, after.Locked_Time__s)
    end)
  end)

  describe("unlock (DELETE .../{lock_id})", function()
    it("answers 200 relation removed with exactly {code,details:{id},message,status}", function()
      local id = org.fresh(e, "Deals")
      local _, lid = org.lock(e, "Deals", id, "to remove")
      local res = e:req("DELETE", lock_path("v8", "Deals", id, lid))
      shape.exact_success(res, 200, lid, "relation removed")
    end)

    it("leaves the record unlocked: list 204, and it can be locked again", function()
      local id = org.fresh(e, "Deals")
      local _, lid = org.lock(e, "Deals", id, "round trip")
      shape.status(e:req("DELETE", lock_path("v8", "Deals", id, lid)), 200, "unlock")
      local list = e:req("GET", lock_path("v8", "Deals", id) .. "?fields=Lock_Source__s")
      shape.status(list, 204, "list after unlock")
      local again, lid2 = org.lock(e, "Deals", id, "again")
      shape.status(again, 201, "relock")
      assert.are_not.equal(lid, lid2)
    end)
  end)

  describe("records and concurrency", function()
    it("sets Locked__s and $locked_for_me on the record while it is locked, and clears them after unlock", function()
      local id = org.fresh(e, "Deals")
      local function locked()
        local res = e:req("GET", "/crm/v8/Deals/" .. id)
        shape.status(res, 200, "get record")
        local r = res.json.data[1]
        assert.are.equal(r.Locked__s, r["$locked_for_me"], "no excluded profiles: locked for me too")
        return r.Locked__s
      end
      assert.is_false(locked())
      local _, lid = org.lock(e, "Deals", id, "flag")
      assert.is_true(locked())
      shape.status(e:req("DELETE", lock_path("v8", "Deals", id, lid)), 200, "unlock")
      assert.is_false(locked())
    end)

    it("lets exactly one of 8 concurrent locks on one record win; the others get already locked", function()
      local id = org.fresh(e, "Deals")
      local reqs = {}
      for i = 1, 8 do
        reqs[i] = { method = "POST", path = lock_path("v8", "Deals", id), token = emu.ACCESS_TOKEN,
                    body = '{"data":[{"Locked_Reason__s":"race ' .. i .. '"}]}' }
      end
      local results = many.run(e.url, reqs)
      local c = many.count(results)
      assert.are.equal(1, c[201], "one winner: " .. many.show(c))
      assert.are.equal(7, c[403], "seven refused: " .. many.show(c))
      for _, r in ipairs(results) do
        if r.status == 403 then assert.are.equal("record is already locked", r.json.message) end
      end
      assert.are.equal(1, #org.locks(e, "Deals", id))
    end)

    it("lets exactly one of 8 concurrent unlocks of one lock succeed", function()
      local id = org.fresh(e, "Deals")
      local _, lid = org.lock(e, "Deals", id, "race to unlock")
      local reqs = {}
      for i = 1, 8 do
        reqs[i] = { method = "DELETE", path = lock_path("v8", "Deals", id, lid), token = emu.ACCESS_TOKEN }
      end
      local c = many.count(many.run(e.url, reqs))
      assert.are.equal(1, c[200], "one unlock: " .. many.show(c))
      assert.are.equal(7, c[400], "seven relation-not-found: " .. many.show(c))
      assert.are.equal(0, #org.locks(e, "Deals", id))
    end)
  end)

  describe("consistency under concurrent load", function()
    it("40 concurrent locks over 10 records: one lock each, Locked__s and state counts agree", function()
      local ids, reqs = {}, {}
      for i = 1, 10 do ids[i] = org.fresh(e, "Deals") end
      local before = e:state().counts.Deals.locked
      for i = 1, 40 do
        local id = ids[(i - 1) % 10 + 1]
        reqs[i] = { method = "POST", path = lock_path("v8", "Deals", id), token = emu.ACCESS_TOKEN,
                    body = '{"data":[{"Locked_Reason__s":"load ' .. i .. '"}]}' }
      end
      local c = many.count(many.run(e.url, reqs))
      assert.are.equal(10, c[201], many.show(c))
      assert.are.equal(30, c[403], many.show(c))
      local st = e:state()
      assert.are.equal(before + 10, st.counts.Deals.locked)
      local per = {}
      for _, l in ipairs(st.locks) do per[l.record_id] = (per[l.record_id] or 0) + 1 end
      for _, id in ipairs(ids) do
        assert.are.equal(1, per[id], "locks on " .. id)
        assert.is_true(st.records.Deals[id])
      end
      -- and concurrent unlocks of all ten, each twice
      local dels = {}
      for _, id in ipairs(ids) do
        local lid = org.locks(e, "Deals", id)[1].id
        dels[#dels + 1] = { method = "DELETE", path = lock_path("v8", "Deals", id, lid), token = emu.ACCESS_TOKEN }
        dels[#dels + 1] = { method = "DELETE", path = lock_path("v8", "Deals", id, lid), token = emu.ACCESS_TOKEN }
      end
      c = many.count(many.run(e.url, dels))
      assert.are.equal(10, c[200], many.show(c))
      assert.are.equal(10, c[400], many.show(c))
      st = e:state()
      assert.are.equal(before, st.counts.Deals.locked)
      for _, id in ipairs(ids) do assert.is_false(st.records.Deals[id]) end
    end)
  end)

  describe("automatic locks", function()
    it("carry Lock_Source__s Automatic, the rule id, no reason or user, read_only sharing", function()
      local id, l = org.auto_locked(e)
      local cfg = org.config(e, "Deals")
      local res = e:req("GET", lock_path("v8", "Deals", id, l.id))
      shape.status(res, 200, "get automatic lock")
      local a = res.json.data[1]
      assert.are.equal("Automatic", a.Lock_Source__s)
      assert.are.equal(shape.null, a.Locked_By__s)
      assert.are.equal(shape.null, a.Locked_Reason__s)
      assert.are.equal("read_only", a["$sharing_permission"])
      assert.are.equal(false, a["$editable"])
      local rule_ids = {}
      for _, r in ipairs(cfg.locking_rules or {}) do rule_ids[r.id] = true end
      assert.is_true(rule_ids[a.Record_Locking_Rule_Id__s] == true,
        "Record_Locking_Rule_Id__s must be a rule of the Deals configuration: " .. res.body)
      assert.are.equal(cfg.id, a.Record_Locking_Configuration_Id__s)
      assert.are.equal(id, a.Locked_For__s.id)
    end)
  end)

  describe("every API version in the path", function()
    for _, v in ipairs{ "v2", "v3", "v4", "v5", "v6", "v7", "v8" } do
      it(v .. ": lock 201, get 200, list 200, update 200, unlock 200, list 204", function()
        local id = org.fresh(e, "Deals")
        local res, lid = org.lock(e, "Deals", id, "version " .. v, v)
        shape.status(res, 201, v .. " lock")
        shape.status(e:req("GET", lock_path(v, "Deals", id, lid)), 200, v .. " get one")
        shape.status(e:req("GET", lock_path(v, "Deals", id) .. "?fields=Lock_Source__s"), 200, v .. " list")
        shape.exact_success(e:req("PUT", lock_path(v, "Deals", id, lid),
          { body = { data = { { Locked_Reason__s = "v" } } } }), 200, lid, "relation updated")
        shape.exact_success(e:req("DELETE", lock_path(v, "Deals", id, lid)), 200, lid, "relation removed")
        shape.status(e:req("GET", lock_path(v, "Deals", id) .. "?fields=Lock_Source__s"), 204, v .. " list after")
      end)
    end
  end)
end)
