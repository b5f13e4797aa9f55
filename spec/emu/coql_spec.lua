-- Black-box spec: POST /crm/v8/coql answers a documented subset of Zoho's COQL the way Zoho
-- does (Zoho's COQL docs and crm-oas v8 coql.json examples): selected
-- columns, where conditions (checked against an independent Lua reading of the records
-- list), order by, limit/offset paging with info {count, more_records}, 204 on no match,
-- and Zoho's error codes.
local emu = require "helpers.emu"
local shape = require "helpers.zoho_shape"

local FIELDS = "Deal_Name,Stage,Amount,Closing_Date,Owner,Account_Name"

local function all_deals(e)
  local out, page = {}, 1
  repeat
    local res = e:req("GET", ("/crm/v8/Deals?fields=%s&per_page=200&page=%d"):format(FIELDS, page))
    shape.status(res, 200, "records list page " .. page)
    for _, r in ipairs(res.json.data) do out[#out + 1] = r end
    page = page + 1
  until not res.json.info.more_records
  return out
end

local function coql(e, q) return e:req("POST", "/crm/v8/coql", { body = { select_query = q } }) end

-- ids of every row of a query (one call; the query carries its own limit), or nil + response.
local function ids_of(e, q)
  local res = coql(e, q)
  assert(res, "coql: no response")
  if res.status == 204 then return {}, res end
  if res.status ~= 200 then return nil, res end
  local ids = {}
  for _, r in ipairs(res.json.data) do ids[#ids + 1] = r.id end
  return ids, res
end

local function ids_where(deals, pred)
  local out = {}
  for _, d in ipairs(deals) do
    if pred(d) then out[#out + 1] = d.id end
  end
  return out
end

local function same_ids(want, got, what)
  table.sort(want); table.sort(got)
  assert.are.same(want, got, what)
end

local function num(v) return type(v) == "number" end
local function str(v) return type(v) == "string" and v ~= "" end

describe("zlock-emu COQL (POST /crm/v8/coql)", function()
  local e, deals
  lazy_setup(function()
    e = emu.start{ "--seed", "demo" }
    deals = all_deals(e)
  end)
  lazy_teardown(function() if e then e:stop() end end)

  describe("results", function()
    it("runs Zoho's documented query: {data, info {count, more_records}}", function()
      local res = coql(e, "select id, Deal_Name from Deals where Stage = 'Closed Lost' limit 0, 2000")
      shape.status(res, 200, "coql")
      local want = ids_where(deals, function(d) return d.Stage == "Closed Lost" end)
      assert.is_true(#want > 0, "the demo org has Closed Lost deals")
      local got = {}
      for _, r in ipairs(res.json.data) do
        assert.is_true(shape.is_id(r.id), "id is a string of digits: " .. tostring(r.id))
        assert.are.equal("string", type(r.Deal_Name), "Deal_Name selected")
        assert.is_nil(r.Amount, "Amount was not selected")
        got[#got + 1] = r.id
      end
      same_ids(want, got, "rows vs records list")
      assert.are.equal(#res.json.data, res.json.info.count)
      assert.is_false(res.json.info.more_records)
      assert.truthy(shape.compact(res.body):find('"id":"%d+"'), "ids are JSON strings")
    end)

    it("evaluates each operator as Zoho documents it", function()
      local amounts = {}
      for _, d in ipairs(deals) do if num(d.Amount) then amounts[#amounts + 1] = d.Amount end end
      table.sort(amounts)
      local mid = amounts[math.floor(#amounts / 2)]
      local m = ("%.17g"):format(mid)
      local cases = {
        { "Amount > " .. m, function(d) return num(d.Amount) and d.Amount > mid end },
        { "Amount >= " .. m, function(d) return num(d.Amount) and d.Amount >= mid end },
        { "Amount < " .. m, function(d) return num(d.Amount) and d.Amount < mid end },
        { "Amount <= " .. m, function(d) return num(d.Amount) and d.Amount <= mid end },
        { "Amount = " .. m, function(d) return d.Amount == mid end },
        { "Stage != 'Closed Won'", function(d) return str(d.Stage) and d.Stage ~= "Closed Won" end },
        { "Stage in ('Closed Won', 'Qualification')",
          function(d) return d.Stage == "Closed Won" or d.Stage == "Qualification" end },
        { "Stage not in ('Closed Won', 'Qualification')",
          function(d) return str(d.Stage) and d.Stage ~= "Closed Won" and d.Stage ~= "Qualification" end },
        { "Stage like 'Closed%'", function(d) return str(d.Stage) and d.Stage:sub(1, 6) == "Closed" end },
        { "Stage like '%Review'", function(d) return str(d.Stage) and d.Stage:sub(-6) == "Review" end },
        { "Stage like '%ose%'", function(d) return str(d.Stage) and d.Stage:find("ose", 1, true) ~= nil end },
        { "Amount between 0 and " .. m, function(d) return num(d.Amount) and d.Amount >= 0 and d.Amount <= mid end },
        { "Closing_Date is null", function(d) return not str(d.Closing_Date) end },
        { "Closing_Date is not null", function(d) return str(d.Closing_Date) end },
        { "(Stage = 'Closed Lost' and Amount > " .. m .. ") or Stage = 'Qualification'",
          function(d)
            return (d.Stage == "Closed Lost" and num(d.Amount) and d.Amount > mid) or d.Stage == "Qualification"
          end },
      }
      for _, c in ipairs(cases) do
        local q = "select id from Deals where " .. c[1] .. " limit 2000"
        local got, res = ids_of(e, q)
        assert(got, q .. ": " .. shape.show(res))
        same_ids(ids_where(deals, c[2]), got, q)
      end
    end)

    it("compares lookups and Owner by id, and reaches their names through Lookup.Field", function()
      local d0
      for _, d in ipairs(deals) do
        if type(d.Owner) == "table" and type(d.Account_Name) == "table" then d0 = d; break end
      end
      assert(d0, "a deal with an owner and an account")
      local owner, acct = d0.Owner.id, d0.Account_Name.id
      local got = assert(ids_of(e, "select id from Deals where Owner = '" .. owner .. "' limit 2000"))
      same_ids(ids_where(deals, function(d) return type(d.Owner) == "table" and d.Owner.id == owner end),
        got, "Owner = id")
      got = assert(ids_of(e, "select id from Deals where Account_Name = '" .. acct .. "' limit 2000"))
      same_ids(ids_where(deals, function(d) return type(d.Account_Name) == "table" and d.Account_Name.id == acct end),
        got, "Account_Name = id")
      local name = d0.Account_Name.name
      got = assert(ids_of(e, "select id from Deals where Account_Name.Account_Name = '" .. name:gsub("'", "''")
        .. "' limit 2000"))
      same_ids(ids_where(deals, function(d) return type(d.Account_Name) == "table" and d.Account_Name.name == name end),
        got, "Account_Name.Account_Name = name")
    end)

    it("compares strings case-insensitively and keywords in any case", function()
      local a = assert(ids_of(e, "select id from Deals where Stage = 'Closed Won' limit 2000"))
      local b = assert(ids_of(e, "SELECT id FROM Deals WHERE Stage = 'cLOSED wON' LIMIT 2000"))
      assert.is_true(#a > 0)
      same_ids(a, b, "same rows")
    end)

    it("sorts by id ascending by default and by the order by column when given", function()
      local res = coql(e, "select id, Amount from Deals where Amount is not null limit 300")
      shape.status(res, 200, "default order")
      for i = 2, #res.json.data do
        local p, q = res.json.data[i - 1].id, res.json.data[i].id
        assert.is_true(#p < #q or (#p == #q and p < q), "ids ascending: " .. p .. " then " .. q)
      end
      res = coql(e, "select id, Amount from Deals where Amount is not null order by Amount desc limit 300")
      shape.status(res, 200, "order by Amount desc")
      for i = 2, #res.json.data do
        assert.is_true(res.json.data[i - 1].Amount >= res.json.data[i].Amount, "amounts non-increasing")
      end
      res = coql(e, "select id, Amount from Deals where Amount is not null order by Amount asc limit 300")
      for i = 2, #res.json.data do
        assert.is_true(res.json.data[i - 1].Amount <= res.json.data[i].Amount, "amounts non-decreasing")
      end
    end)

    it("pages with limit offset, count and limit count offset n; more_records tells", function()
      local total = #ids_where(deals, function(d) return str(d.Stage) end)
      assert.is_true(total > 20)
      local a = coql(e, "select id from Deals where Stage is not null limit 0, 10")
      local b = coql(e, "select id from Deals where Stage is not null limit 10 offset 10")
      shape.status(a, 200, "first page"); shape.status(b, 200, "second page")
      assert.are.equal(10, a.json.info.count)
      assert.are.equal(10, #b.json.data)
      assert.is_true(a.json.info.more_records)
      local seen = {}
      for _, r in ipairs(a.json.data) do seen[r.id] = true end
      for _, r in ipairs(b.json.data) do assert.is_nil(seen[r.id], "pages overlap on " .. r.id) end
      local last = coql(e, ("select id from Deals where Stage is not null limit %d, 10"):format(total - 3))
      shape.status(last, 200, "last page")
      assert.are.equal(3, last.json.info.count)
      assert.is_false(last.json.info.more_records)
    end)

    it("returns 200 rows by default", function()
      local res = coql(e, "select id from Deals where Stage is not null")
      shape.status(res, 200, "default limit")
      local staged = #ids_where(deals, function(d) return str(d.Stage) end)
      assert.are.equal(math.min(200, staged), #res.json.data)
    end)

    it("answers 204 when nothing matches", function()
      local res = coql(e, "select id from Deals where Deal_Name = 'no such deal zz9'")
      shape.status(res, 204, "no match")
      assert.are.equal("", res.body)
    end)

    it("handles quotes in string literals", function()
      local res = coql(e, "select id from Deals where Deal_Name = 'O''Neil \\'s deal'")
      assert(res and (res.status == 204 or res.status == 200), shape.show(res))
    end)
  end)

  describe("errors (crm-oas v8 coql.json)", function()
    local function err(q, want)
      want.status = want.status or 400
      want.what = q
      return shape.top_error(coql(e, q), want)
    end

    it("a query without where: SYNTAX_ERROR missing clause", function()
      err("select id from Deals", { code = "SYNTAX_ERROR", message = "missing clause",
        details = { clause = "where" } })
    end)

    it("broken syntax: SYNTAX_ERROR", function()
      for _, q in ipairs{ "select id from Deals where Stage = ", "select from Deals where id is null",
                          "select id from Deals where (Stage = 'x'", "select id from Deals where Stage = 'x",
                          "select id Deals where Stage = 'x'", "selec id from Deals where id is null" } do
        err(q, { code = "SYNTAX_ERROR" })
      end
    end)

    it("not in front of a condition: SYNTAX_ERROR operator not supported", function()
      err("select id from Deals where not Stage = 'x'", { code = "SYNTAX_ERROR",
        message = "operator not supported", details = { operator = "not" } })
    end)

    it("limit over 2000: LIMIT_EXCEEDED; limit 0: INVALID_DATA; limit s: INVALID_QUERY", function()
      err("select id from Deals where id is not null limit 2001", { code = "LIMIT_EXCEEDED" })
      err("select id from Deals where id is not null limit 0", { code = "INVALID_DATA",
        message = "limit should be greater than 0" })
      err("select id from Deals where id is not null limit s", { code = "INVALID_QUERY",
        message = "limit given seems to be invalid", details = { limit = "s" } })
    end)

    it("a duplicate select column: DUPLICATE_DATA", function()
      err("select Stage, Stage from Deals where id is not null", { code = "DUPLICATE_DATA",
        message = "duplicate select column", details = { column_name = "Stage" } })
    end)

    it("an unknown column in select or where: INVALID_QUERY naming it", function()
      for _, q in ipairs{ "select No_Such_Col from Deals where id is not null",
                          "select id from Deals where No_Such_Col = 'x'" } do
        local o = err(q, { code = "INVALID_QUERY" })
        assert.are.equal("No_Such_Col", o.details.column_name, q)
      end
    end)

    it("an unknown module: INVALID_MODULE", function()
      err("select id from No_Such_Module__c where id is not null", { code = "INVALID_MODULE",
        message = "the given module is not supported in api" })
    end)

    it("a literal of the wrong type or an operator the column does not take: INVALID_QUERY", function()
      err("select id from Deals where Amount = 'abc'", { code = "INVALID_QUERY" })
      local o = err("select id from Deals where Amount like '1%'", { code = "INVALID_QUERY" })
      assert.are.equal("Amount", o.details.column_name)
    end)

    it("no select_query: MANDATORY_NOT_FOUND", function()
      local res = e:req("POST", "/crm/v8/coql", { body = "{}" })
      shape.top_error(res, { status = 400, code = "MANDATORY_NOT_FOUND", message = "mandatory key not found",
        details = { api_name = "select_query" } })
    end)

    it("outside the subset (*, aggregates): SYNTAX_ERROR, never a 500", function()
      for _, q in ipairs{ "select * from Deals where id is not null",
                          "select COUNT(id) from Deals where id is not null" } do
        err(q, { code = "SYNTAX_ERROR" })
      end
    end)

    it("hostile queries (deep nesting, 100 KB, wrong JSON types) get Zoho-shaped answers", function()
      local deep = "select id from Deals where " .. ("("):rep(30000) .. "id is null" .. (")"):rep(30000)
      err(deep, { code = "SYNTAX_ERROR" })
      local res = coql(e, "select id from Deals where Deal_Name = '" .. ("a"):rep(100000) .. "'")
      assert(res and res.status ~= 500, shape.show(res))
      shape.top_error(res, { status = 400 })
      for _, body in ipairs{ '{"select_query":42}', '{"select_query":null}', "[1,2]", "not json" } do
        local r = e:req("POST", "/crm/v8/coql", { body = body })
        shape.top_error(r, { status = 400, what = body })
      end
    end)

    it("is a POST: GET answers Zoho's wrong-method error", function()
      local res = e:req("GET", "/crm/v8/coql")
      assert(res and (res.status == 400 or res.status == 403 or res.status == 405), shape.show(res))
      assert.are.equal("INVALID_REQUEST_METHOD", res.json and res.json.code, shape.show(res))
    end)
  end)
end)
