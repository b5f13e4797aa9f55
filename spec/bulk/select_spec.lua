-- Record selection: search, record lists and COQL iterators that page for the user
-- (per_page 200, page_token past 2,000, 204 = end), the criteria escape, and c:locks() for
-- audits. Checked against the emulator's own record list and state, with its request counters.
local S = require "bulk.support"
local select_mod = require "zlock.select"

describe("record selection", function()
  local e, c, all

  lazy_setup(function()
    e = S.start{ "--records", "Deals=2300" }
    c = S.client(e)
    all = S.records(e, "Deals", "Deal_Name,Stage,Amount")
  end)

  lazy_teardown(function()
    if c then c:close() end
    if e then e:stop() end
  end)

  local function collect(it)
    local list, ids = {}, {}
    for r in it do
      list[#list + 1] = r
      assert.is_string(r.id)
      assert.is_nil(ids[r.id], "record " .. r.id .. " yielded twice")
      ids[r.id] = true
    end
    return list, ids
  end

  it("the emulator holds more than 2,000 deals for these specs", function()
    assert.equals(2300, #all)
  end)

  it("search pages 200 at a time through every match", function()
    local want = {}
    for _, d in ipairs(all) do if d.Stage == "Closed Lost" then want[d.id] = true end end
    local n = S.count(want)
    assert.is_true(n > 200 and n < 2000, "need between 200 and 2000 Closed Lost deals, have " .. n)
    local before = S.route_count(e, "records.search")
    local list, ids = collect(c:search("Deals", "(Stage:equals:Closed Lost)", { fields = { "Deal_Name", "Stage" } }))
    assert.equals(n, #list)
    for id in pairs(want) do assert.is_true(ids[id], "missing " .. id) end
    for _, r in ipairs(list) do assert.equals("Closed Lost", r.Stage) end
    assert.equals(math.ceil(n / 200), S.route_count(e, "records.search") - before)
  end)

  it("search raises LIMIT_EXCEEDED instead of stopping silently at Zoho's 2,000-record cap", function()
    local n = 0
    local ok, err = pcall(function()
      for _ in c:search("Deals", "(Amount:greater_than:0)", { fields = "Deal_Name" }) do n = n + 1 end
    end)
    assert.is_false(ok)
    assert.equals("LIMIT_EXCEEDED", err.code)
    assert.matches("coql", tostring(err), 1, true)
    assert.equals(2000, n)
  end)

  it("search yields nothing on 204 (no match)", function()
    local list = collect(c:search("Deals", "(Stage:equals:No Such Stage)"))
    assert.equals(0, #list)
  end)

  it("escapes ( ) , and \\ in criteria values so a search finds a record named with them", function()
    assert.equals([[Smith\, Jones \(UK\) \\ Ltd]], select_mod.escape([[Smith, Jones (UK) \ Ltd]]))
    local acc = S.records(e, "Accounts", "Account_Name")[1]
    local name = [[Smith, Jones (UK) \ Ltd]]
    local res = e:req("PUT", "/crm/v8/Accounts/" .. acc.id, { body = { data = { { Account_Name = name } } } })
    assert.equals(200, res.status)
    local list = collect(c:search("Accounts", "(Account_Name:equals:" .. select_mod.escape(name) .. ")",
      { fields = "Account_Name" }))
    assert.equals(1, #list)
    assert.equals(acc.id, list[1].id)
    assert.equals(name, list[1].Account_Name)
  end)

  it("records() pages past 2,000 with page_token and yields every record once", function()
    local before = S.route_count(e, "records.list")
    local list, ids = collect(c:records("Deals", { fields = { "Deal_Name" } }))
    assert.equals(#all, #list)
    for _, d in ipairs(all) do assert.is_true(ids[d.id]) end
    assert.equals(math.ceil(#all / 200), S.route_count(e, "records.list") - before)
  end)

  it("coql() pages with limit offset, 2000 and yields every row once", function()
    local want = 0
    for _, d in ipairs(all) do if tonumber(d.Amount) > 1000 then want = want + 1 end end
    assert.is_true(want > 2000)
    local before = S.route_count(e, "coql")
    local list = collect(c:coql("select id, Amount from Deals where Amount > 1000"))
    assert.equals(want, #list)
    for _, r in ipairs(list) do assert.is_true(tonumber(r.Amount) > 1000) end
    assert.equals(2, S.route_count(e, "coql") - before)
    -- a query with its own limit is one call
    list = collect(c:coql("select id from Deals where Amount > 1000 limit 0, 5"))
    assert.equals(5, #list)
    assert.equals("'O\\'Brien'", select_mod.quote("O'Brien"))
  end)

  it("raises the error table when a page request fails", function()
    local ok, err = pcall(function() for _ in c:search("NoSuchModule", "(Stage:equals:x)") do end end)
    assert.is_false(ok)
    assert.equals("INVALID_MODULE", err.code)
    assert.has_error(function() c:search("Deals", nil) end)
    assert.has_error(function() c:records("Bad-Module", {}) end)
  end)

  it("locks() lists every lock of the org, one lock-list call per locked record", function()
    local ids = S.unlocked(e, "Deals", 5)
    for _, id in ipairs(ids) do assert(c:lock("Deals", id, "spec audit " .. id)) end
    local lid = S.unlocked(e, "Leads", 1)[1]
    assert(c:lock("Leads", lid, "spec audit lead"))
    local state = S.locks(e)
    local locked_records = S.count(select(2, S.locks(e)))

    local before = S.route_count(e, "locks.list")
    local got = {}
    for l in c:locks() do
      assert.is_nil(got[l.id])
      got[l.id] = l
    end
    assert.equals(#state, S.count(got))
    for _, w in ipairs(state) do
      local l = got[w.lock_id]
      assert.is_table(l, "lock " .. w.lock_id .. " missing")
      assert.equals(w.module, l.module)
      assert.equals(w.record_id, l.record_id)
      assert.equals(w.source, l.Lock_Source__s)
    end
    assert.equals(locked_records, S.route_count(e, "locks.list") - before)

    local leads = {}
    for l in c:locks("Leads") do leads[#leads + 1] = l end
    assert.equals(1, #leads)
    assert.equals(lid, leads[1].record_id)
    assert.equals("spec audit lead", leads[1].Locked_Reason__s)
  end)
end)
