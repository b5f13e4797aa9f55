-- Black-box spec: the records API around locking (Zoho's documentation; crm-oas
-- v8 record examples): GET /crm/v8/{module} with fields/page/per_page and page_token past
-- 2,000 records, GET one record carrying Locked__s, and PUT refused with RECORD_LOCKED
-- (details.action "record_locking") while a lock stands and the configuration restricts
-- update.
local emu = require "helpers.emu"
local shape = require "helpers.zoho_shape"
local org = require "helpers.emu_org"

local LOCKED_MSG = "Sorry, you cannot perform this operation as the record is locked."

local function get_one(e, module, id)
  local res = e:req("GET", ("/crm/v8/%s/%s"):format(module, id))
  shape.status(res, 200, "GET " .. module .. "/" .. id)
  assert.are.equal(1, #res.json.data, shape.show(res))
  return res.json.data[1], res
end

local function restricts_update(cfg)
  for _, a in ipairs(cfg and cfg.restricted_actions or {}) do
    if a == "update" or (type(a) == "table" and (a.name == "update" or a.api_name == "update")) then
      return true
    end
  end
  return false
end

describe("zlock-emu records (GET/PUT /crm/v8/{module})", function()
  local e
  lazy_setup(function() e = emu.start{ "--seed", "demo" } end)
  lazy_teardown(function() if e then e:stop() end end)

  describe("GET /crm/v8/{module}", function()
    it("lists pages with the asked fields and info {per_page, count, page, more_records}", function()
      local res = e:req("GET", "/crm/v8/Deals?fields=Deal_Name,Stage&per_page=20&page=1")
      shape.status(res, 200, "records list")
      local info = res.json.info
      assert.are.equal(20, #res.json.data)
      assert.are.equal(20, info.count)
      assert.are.equal(20, info.per_page)
      assert.are.equal(1, info.page)
      assert.is_true(info.more_records)
      for _, r in ipairs(res.json.data) do
        assert.is_true(shape.is_id(r.id), "id is a string of digits")
        assert.are.equal("string", type(r.Deal_Name), "Deal_Name asked for")
        assert.is_nil(r.Amount, "Amount was not asked for")
      end
      assert.truthy(shape.compact(res.body):find('"id":"%d+"'), "ids are JSON strings")
      local p2 = e:req("GET", "/crm/v8/Deals?fields=Deal_Name&per_page=20&page=2")
      shape.status(p2, 200, "page 2")
      local seen = {}
      for _, r in ipairs(res.json.data) do seen[r.id] = true end
      for _, r in ipairs(p2.json.data) do assert.is_nil(seen[r.id], "page 2 repeats " .. r.id) end
    end)

    it("walks every deal exactly once with page and per_page=200", function()
      local seen, n, page = {}, 0, 1
      repeat
        local res = e:req("GET", "/crm/v8/Deals?fields=Deal_Name&per_page=200&page=" .. page)
        shape.status(res, 200, "page " .. page)
        assert.is_true(#res.json.data <= 200)
        for _, r in ipairs(res.json.data) do
          assert.is_nil(seen[r.id], "deal listed twice: " .. r.id)
          seen[r.id] = true
          n = n + 1
        end
        page = page + 1
      until not res.json.info.more_records
      assert.is_true(n >= 200, "the demo org has at least 200 deals, listed " .. n)
    end)

    it("needs fields: 400 REQUIRED_PARAM_MISSING naming fields", function()
      local res = e:req("GET", "/crm/v8/Deals?per_page=10")
      local o = shape.top_error(res, { status = 400, code = "REQUIRED_PARAM_MISSING" })
      assert.are.equal("fields", o.details.param_name or o.details.param, shape.show(res))
    end)

    it("never returns more than 200 records in a page", function()
      local res = e:req("GET", "/crm/v8/Deals?fields=Deal_Name&per_page=201")
      assert(res, "no response")
      if res.status == 200 then
        assert.is_true(#res.json.data <= 200, "got " .. #res.json.data)
      else
        shape.top_error(res, { status = 400 })
      end
    end)

    it("unknown module: 400 INVALID_MODULE", function()
      shape.top_error(e:req("GET", "/crm/v8/No_Such_Module__c?fields=Name"),
        { status = 400, code = "INVALID_MODULE", details = { resource_path_index = 0 } })
    end)

    it("carries Locked__s, true exactly for the locked records", function()
      local id = org.fresh(e, "Deals")
      local res, lock_id = org.lock(e, "Deals", id, "records spec")
      shape.status(res, 201, "lock")
      assert.is_truthy(lock_id)
      local found, page = false, 1
      repeat
        local list = e:req("GET", "/crm/v8/Deals?fields=Deal_Name,Locked__s&per_page=200&page=" .. page)
        shape.status(list, 200, "list page " .. page)
        for _, r in ipairs(list.json.data) do
          assert.are.equal("boolean", type(r.Locked__s), "Locked__s is a boolean")
          if r.id == id then
            found = true
            assert.is_true(r.Locked__s, "the locked deal says Locked__s true")
          end
        end
        page = page + 1
      until not list.json.info.more_records
      assert.is_true(found, "the locked deal is listed")
    end)
  end)

  describe("GET /crm/v8/{module}/{id}", function()
    it("returns the record with its fields, Locked__s and $locked_for_me", function()
      local id = org.fresh(e, "Deals")
      local r = get_one(e, "Deals", id)
      assert.are.equal(id, r.id)
      assert.are.equal("string", type(r.Deal_Name))
      assert.is_false(r.Locked__s, "a fresh deal is not locked")
      assert.are.equal("boolean", type(r["$locked_for_me"]), "$locked_for_me is a boolean")
      local _, lid = org.lock(e, "Deals", id, "get one")
      assert.is_truthy(lid)
      assert.is_true(get_one(e, "Deals", id).Locked__s, "Locked__s after the lock")
      shape.status(e:req("DELETE", ("/crm/v8/Deals/%s/Locking_Information__s/%s"):format(id, lid)), 200, "unlock")
      assert.is_false(get_one(e, "Deals", id).Locked__s, "Locked__s after the unlock")
    end)

    it("an unknown id: 400 INVALID_DATA", function()
      local res = e:req("GET", "/crm/v8/Deals/1111111111111111111")
      shape.top_error(res, { status = 400, code = "INVALID_DATA" })
    end)
  end)

  describe("PUT on a locked record", function()
    local cfg
    lazy_setup(function() cfg = org.config(e, "Deals") end)

    it("the demo Deals configuration restricts update (so the refusal below applies)", function()
      assert.is_true(restricts_update(cfg), "restricted_actions of Deals: " .. tostring(cfg))
    end)

    it("PUT /crm/v8/Deals/{id}: 400 RECORD_LOCKED with details.action record_locking; no change", function()
      local id = org.fresh(e, "Deals")
      local before = get_one(e, "Deals", id).Deal_Name
      local _, lid = org.lock(e, "Deals", id, "frozen")
      assert.is_truthy(lid)
      local res = e:req("PUT", "/crm/v8/Deals/" .. id, { body = { data = { { Deal_Name = "changed while locked" } } } })
      shape.wrapped_error(res, { status = 400, code = "RECORD_LOCKED", message = LOCKED_MSG,
        details = { action = "record_locking", api_name = "id", json_path = "$.data[0].id" } })
      assert.are.equal(before, get_one(e, "Deals", id).Deal_Name, "the locked record kept its name")
    end)

    it("PUT /crm/v8/Deals with the id in the body: the same refusal for that record", function()
      local id = org.fresh(e, "Deals")
      local _, lid = org.lock(e, "Deals", id, "frozen too")
      assert.is_truthy(lid)
      local res = e:req("PUT", "/crm/v8/Deals", { body = { data = { { id = id, Deal_Name = "bulk change" } } } })
      assert(res and (res.status == 400 or res.status == 207), shape.show(res))
      local o = res.json and res.json.data and res.json.data[1]
      assert(o, shape.show(res))
      assert.are.equal("RECORD_LOCKED", o.code, shape.show(res))
      assert.are.equal("record_locking", o.details.action, shape.show(res))
      assert.are.equal(LOCKED_MSG, o.message)
    end)

    it("an unlocked record updates: 200 SUCCESS, and again once the lock is removed", function()
      local id = org.fresh(e, "Deals")
      local ok1 = e:req("PUT", "/crm/v8/Deals/" .. id, { body = { data = { { Deal_Name = "renamed once" } } } })
      shape.status(ok1, 200, "update unlocked")
      assert.are.equal("SUCCESS", ok1.json.data[1].code, shape.show(ok1))
      assert.are.equal(id, ok1.json.data[1].details.id, shape.show(ok1))
      assert.are.equal("renamed once", get_one(e, "Deals", id).Deal_Name)

      local _, lid = org.lock(e, "Deals", id, "briefly")
      shape.status(e:req("DELETE", ("/crm/v8/Deals/%s/Locking_Information__s/%s"):format(id, lid)), 200, "unlock")
      local ok2 = e:req("PUT", "/crm/v8/Deals/" .. id, { body = { data = { { Deal_Name = "renamed twice" } } } })
      shape.status(ok2, 200, "update after unlock")
      assert.are.equal("renamed twice", get_one(e, "Deals", id).Deal_Name)
    end)
  end)
end)

describe("zlock-emu records past 2,000 (--records Deals=3000)", function()
  local e
  lazy_setup(function() e = emu.start{ "--seed", "demo", "--records", "Deals=3000" } end)
  lazy_teardown(function() if e then e:stop() end end)

  it("page 11 without page_token: 400 DISCRETE_PAGINATION_LIMIT_EXCEEDED", function()
    local res = e:req("GET", "/crm/v8/Deals?fields=Deal_Name&per_page=200&page=11")
    shape.top_error(res, { status = 400, code = "DISCRETE_PAGINATION_LIMIT_EXCEEDED" })
  end)

  it("walks all 3000 deals: pages to 2,000, then info.next_page_token", function()
    local seen, n = {}, 0
    local function take(res)
      for _, r in ipairs(res.json.data) do
        assert.is_nil(seen[r.id], "deal listed twice: " .. r.id)
        seen[r.id] = true
        n = n + 1
      end
    end
    local res
    for page = 1, 10 do
      res = e:req("GET", "/crm/v8/Deals?fields=Deal_Name&per_page=200&page=" .. page)
      shape.status(res, 200, "page " .. page)
      assert.are.equal(200, #res.json.data)
      take(res)
    end
    assert.is_true(res.json.info.more_records)
    local calls = 0
    while res.json.info.more_records do
      local token = res.json.info.next_page_token
      assert.are.equal("string", type(token), "next_page_token when more_records: " .. shape.show(res))
      res = e:req("GET", "/crm/v8/Deals?fields=Deal_Name&per_page=200&page_token=" .. token)
      shape.status(res, 200, "page_token call")
      take(res)
      calls = calls + 1
      assert.is_true(calls <= 10, "page_token walk does not end")
    end
    assert.are.equal(3000, n)
  end)
end)
