-- Smoke test: the four operations answer exactly as Zoho's documentation shows
-- (statuses, envelopes, key order, ids as strings), against an emulator started with no flags.
local emu = require "helpers.emu"

local function path(id, lock_id)
  return "/crm/v8/Deals/" .. id .. "/Locking_Information__s" .. (lock_id and ("/" .. lock_id) or "")
end

describe("zlock-emu smoke: the four operations", function()
  local e, id
  lazy_setup(function()
    e = emu.start{}
    for rid, locked in pairs(e:state().records.Deals) do
      if not locked then id = rid; break end
    end
  end)
  lazy_teardown(function() if e then e:stop() end end)

  it("runs list (204) -> lock (201) -> get -> list -> update -> unlock -> list (204)", function()
    local res = e:req("GET", path(id) .. "?fields=Locked_For__s,Locked_Reason__s,Lock_Source__s")
    assert.are.equal(204, res.status)
    assert.are.equal("", res.body)

    res = e:req("POST", path(id), { body = '{"data":[{"Locked_Reason__s":"last round of negotiations"}]}' })
    assert.are.equal(201, res.status)
    local lid = res.body:match('^{"data":%[{"code":"SUCCESS","details":{"id":"(%d+)","Created_Time":"[^"]+",'
      .. '"Modified_Time":"[^"]+","Created_By":{"name":"[^"]+","id":"%d+"},'
      .. '"Modified_By":{"name":"[^"]+","id":"%d+"}},"message":"record added","status":"success"}%]}$')
    assert.truthy(lid, "201 body: " .. res.body)
    assert.are.equal(19, #lid)

    res = e:req("GET", path(id, lid))
    assert.are.equal(200, res.status)
    local lock = res.json.data[1]
    assert.are.equal(lid, lock.id)
    assert.are.equal("last round of negotiations", lock.Locked_Reason__s)
    assert.are.equal("Manual", lock.Lock_Source__s)
    assert.are.equal(id, lock.Locked_For__s.id)
    assert.are.equal("Deals", lock.Locked_For__s.module.api_name)
    assert.are.equal("record_locking", lock.Feature_Type__s)
    assert.truthy(lock.Locked_Time__s:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d[+-]%d%d:%d%d$"))
    assert.truthy(res.body:find('"Record_Locking_Configuration_Id__s":"%d+"'), "config id is a string")

    res = e:req("GET", path(id) .. "?fields=Locked_Reason__s,Lock_Source__s")
    assert.are.equal(200, res.status)
    assert.are.equal(lid, res.json.data[1].id)
    local info = res.json.info
    assert.are.equal(1, info.count)
    assert.are.equal(false, info.more_records)
    assert.truthy(res.body:find('"info":{"per_page":%d+,"count":1,"page":1,"more_records":false,'
      .. '"next_page_token":null,"previous_page_token":null,"page_token_expiry":null}'), res.body)

    res = e:req("PUT", path(id, lid), { body = '{"data":[{"Locked_Reason__s":"awaiting final approval"}]}' })
    assert.are.equal(200, res.status)
    assert.are.equal('{"data":[{"code":"SUCCESS","details":{"id":"' .. lid
      .. '"},"message":"relation updated","status":"success"}]}', res.body)
    assert.are.equal("awaiting final approval", e:req("GET", path(id, lid)).json.data[1].Locked_Reason__s)

    res = e:req("DELETE", path(id, lid))
    assert.are.equal(200, res.status)
    assert.are.equal('{"data":[{"code":"SUCCESS","details":{"id":"' .. lid
      .. '"},"message":"relation removed","status":"success"}]}', res.body)

    res = e:req("GET", path(id) .. "?fields=Locked_For__s")
    assert.are.equal(204, res.status)
    assert.are.equal("", res.body)
    assert.is_false(e:state().records.Deals[id])
  end)

  it("answers JSON with Content-Type application/json", function()
    local res = e:req("GET", "/crm/v8/users?type=CurrentUser")
    assert.are.equal(200, res.status)
    assert.truthy(res.headers["content-type"]:find("application/json", 1, true))
  end)

  it("shows the Automatic lock of the demo org like the seed article's sample", function()
    local auto
    for _, l in ipairs(e:state().locks) do
      if l.source == "Automatic" then auto = l; break end
    end
    assert.truthy(auto, "the demo org has automatic locks")
    local res = e:req("GET", "/crm/v5/Deals/" .. auto.record_id .. "/Locking_Information__s?fields="
      .. "Locked_For__s,Locked_Reason__s,Lock_Source__s,Locked_Time__s,Locked_By__s,"
      .. "Record_Locking_Rule_Id__s,Record_Locking_Configuration_Id__s,Owner,Parent_Id")
    assert.are.equal(200, res.status)
    local l = res.json.data[1]
    assert.are.equal("Automatic", l.Lock_Source__s)
    assert.are.equal("read_only", l["$sharing_permission"])
    assert.are.equal(false, l["$editable"])
    assert.are.equal(auto.rule_id, l.Record_Locking_Rule_Id__s)
    assert.truthy(res.body:find('"Locked_By__s":null', 1, true))
    assert.truthy(res.body:find('"Locked_Reason__s":null', 1, true))
  end)
end)
