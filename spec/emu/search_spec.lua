-- Black-box spec: GET /crm/v8/{module}/search?criteria= answers like Zoho's Search Records
-- API (Zoho's v8 search docs and crm-oas examples): results that match
-- the criteria (checked against an independent Lua reading of the records list), pages of at
-- most 200, 204 on no match, backslash escapes, the 10-criteria and 2,000-record limits,
-- and Zoho's error envelopes.
local emu = require "helpers.emu"
local shape = require "helpers.zoho_shape"
local org = require "helpers.emu_org"

local function enc(s)
  return (s:gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

local FIELDS = "Deal_Name,Stage,Amount,Closing_Date,Probability"

-- Every deal through the records list (the emulator's demo org has < 2,000 deals).
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

-- All ids a criteria search returns (every page), or the first non-200 response.
local function search_ids(e, criteria, module)
  local ids, page = {}, 1
  while true do
    local res = e:req("GET", ("/crm/v8/%s/search?criteria=%s&per_page=200&page=%d")
      :format(module or "Deals", enc(criteria), page))
    assert(res, "search: no response")
    if res.status == 204 then return ids, res end
    if res.status ~= 200 then return nil, res end
    for _, r in ipairs(res.json.data) do ids[#ids + 1] = r.id end
    if not res.json.info.more_records then return ids, res end
    page = page + 1
  end
end

local function set_of(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
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

describe("zlock-emu search (GET /crm/v8/{module}/search)", function()
  local e, deals
  lazy_setup(function()
    e = emu.start{ "--seed", "demo" }
    deals = all_deals(e)
  end)
  lazy_teardown(function() if e then e:stop() end end)

  it("the demo org has enough deals for these specs", function()
    assert.is_true(#deals >= 200, "at least 200 deals, got " .. #deals)
  end)

  describe("matching", function()
    it("finds exactly the Closed Lost deals over 1000 (Zoho's documented example)", function()
      local want = ids_where(deals, function(d)
        return d.Stage == "Closed Lost" and type(d.Amount) == "number" and d.Amount > 1000 end)
      assert.is_true(#want > 0, "the demo org has Closed Lost deals over 1000")
      local got, res = search_ids(e, "((Stage:equals:Closed Lost)and(Amount:greater_than:1000))")
      assert(got, shape.show(res))
      same_ids(want, got, "search result vs records list")
    end)

    it("compares text case-insensitively", function()
      local a = search_ids(e, "(Stage:equals:Closed Won)")
      local b = search_ids(e, "(Stage:equals:cLOSED wON)")
      assert.is_true(#a > 0)
      same_ids(a, b, "equals ignores case")
    end)

    it("or, nesting, in, not_equal, starts_with", function()
      local cases = {
        { "((Stage:equals:Closed Won)or(Stage:equals:Qualification))",
          function(d) return d.Stage == "Closed Won" or d.Stage == "Qualification" end },
        { "(Stage:in:Closed Won,Qualification)",
          function(d) return d.Stage == "Closed Won" or d.Stage == "Qualification" end },
        { "(((Stage:starts_with:Closed)and(Amount:less_than:5000))or(Stage:equals:Negotiation/Review))",
          function(d)
            return (type(d.Stage) == "string" and d.Stage:sub(1, 6) == "Closed"
              and type(d.Amount) == "number" and d.Amount < 5000)
              or d.Stage == "Negotiation/Review"
          end },
        { "((Stage:not_equal:Closed Won)and(Stage:not_equal:Closed Lost))",
          function(d) return d.Stage ~= "Closed Won" and d.Stage ~= "Closed Lost" end },
      }
      for _, c in ipairs(cases) do
        local got, res = search_ids(e, c[1])
        assert(got, c[1] .. ": " .. shape.show(res))
        same_ids(ids_where(deals, c[2]), got, c[1])
      end
    end)

    it("compares numbers numerically and dates as ISO strings (between is inclusive)", function()
      local amounts = {}
      for _, d in ipairs(deals) do
        if type(d.Amount) == "number" then amounts[#amounts + 1] = d.Amount end
      end
      table.sort(amounts)
      local lo, hi = amounts[math.floor(#amounts / 4) + 1], amounts[math.floor(#amounts * 3 / 4)]
      local function fmt(n) return ("%.17g"):format(n) end
      local got = assert(search_ids(e, ("(Amount:between:%s,%s)"):format(fmt(lo), fmt(hi))))
      same_ids(ids_where(deals, function(d)
        return type(d.Amount) == "number" and d.Amount >= lo and d.Amount <= hi end), got, "between amounts")
      assert.is_true(#got >= 2, "between includes both ends")

      local dates = {}
      for _, d in ipairs(deals) do
        if type(d.Closing_Date) == "string" then dates[#dates + 1] = d.Closing_Date end
      end
      table.sort(dates)
      local mid = dates[math.floor(#dates / 2)]
      got = assert(search_ids(e, "(Closing_Date:greater_equal:" .. mid .. ")"))
      same_ids(ids_where(deals, function(d)
        return type(d.Closing_Date) == "string" and d.Closing_Date >= mid end), got, "dates >= " .. mid)
    end)

    it("answers 204 with an empty body when nothing matches", function()
      local res = e:req("GET", "/crm/v8/Deals/search?criteria=" .. enc("(Deal_Name:equals:no such deal zz9)"))
      shape.status(res, 204, "no match")
      assert.are.equal("", res.body)
    end)

    it("finds values with escaped parentheses, commas and a trailing backslash", function()
      local id = org.fresh(e, "Deals")
      local name = "Burns, B (spec) 50\\"
      local put = e:req("PUT", "/crm/v8/Deals/" .. id, { body = { data = { { Deal_Name = name } } } })
      shape.status(put, 200, "renaming a fresh deal")
      local got, res = search_ids(e, "(Deal_Name:equals:Burns\\, B \\(spec\\) 50\\\\)")
      assert(got, shape.show(res))
      assert.are.same({ id }, got, "escaped search finds the renamed deal")
      -- unescaped, the comma splits the value and the parenthesis breaks the syntax
      local bad = e:req("GET", "/crm/v8/Deals/search?criteria=" .. enc("(Deal_Name:equals:Burns, B (spec))"))
      shape.top_error(bad, { status = 400, code = "INVALID_QUERY" })
    end)
  end)

  describe("pages", function()
    it("honours per_page and page, with info {per_page, count, page, more_records}", function()
      local crit = enc("(Stage:not_equal:zz9 no stage)")
      local p1 = e:req("GET", "/crm/v8/Deals/search?per_page=7&page=1&criteria=" .. crit)
      local p2 = e:req("GET", "/crm/v8/Deals/search?per_page=7&page=2&criteria=" .. crit)
      shape.status(p1, 200, "page 1"); shape.status(p2, 200, "page 2")
      assert.are.equal(7, #p1.json.data)
      assert.are.equal(7, p1.json.info.count)
      assert.are.equal(7, p1.json.info.per_page)
      assert.are.equal(1, p1.json.info.page)
      assert.are.equal(2, p2.json.info.page)
      assert.is_true(p1.json.info.more_records)
      local seen = set_of((function()
        local l = {}; for _, r in ipairs(p1.json.data) do l[#l + 1] = r.id end; return l end)())
      for _, r in ipairs(p2.json.data) do
        assert.is_nil(seen[r.id], "page 2 repeats " .. r.id)
        assert.is_true(shape.is_id(r.id), "ids are strings of digits")
      end
    end)

    it("never returns more than 200 records in one page", function()
      local res = e:req("GET", "/crm/v8/Deals/search?per_page=500&criteria=" .. enc("(Stage:not_equal:zz9)"))
      assert(res, "no response")
      if res.status == 200 then
        assert.is_true(#res.json.data <= 200, "per_page is capped at 200, got " .. #res.json.data)
      else
        shape.top_error(res, { status = 400 })
      end
    end)

    it("the last page says more_records false", function()
      local got, res = search_ids(e, "(Stage:equals:Closed Won)")
      assert(got and res.status == 200, shape.show(res))
      assert.is_false(res.json.info.more_records)
    end)
  end)

  describe("errors", function()
    it("malformed criteria: 400 INVALID_QUERY, top-level envelope", function()
      for _, c in ipairs{ "(Stage:equals:Closed Lost", "((Stage:equals:a)xor(Stage:equals:b))",
                          "(Stage:equals)", "Stage", "(Stage:equals:a(b)", ")(" } do
        local res = e:req("GET", "/crm/v8/Deals/search?criteria=" .. enc(c))
        shape.top_error(res, { status = 400, code = "INVALID_QUERY", what = c })
      end
    end)

    it("unknown operator: 400 INVALID_QUERY invalid operator found", function()
      local res = e:req("GET", "/crm/v8/Deals/search?criteria=" .. enc("(Stage:contains:Closed)"))
      shape.top_error(res, { status = 400, code = "INVALID_QUERY", message = "invalid operator found",
        details = { operator = "contains", api_name = "Stage" } })
    end)

    it("unknown field: 400 INVALID_QUERY naming the field", function()
      local res = e:req("GET", "/crm/v8/Deals/search?criteria=" .. enc("(No_Such_Field:equals:x)"))
      local err = shape.top_error(res, { status = 400, code = "INVALID_QUERY" })
      assert.are.equal("No_Such_Field", err.details.api_name, shape.show(res))
    end)

    it("a value of the wrong type: 400 INVALID_QUERY", function()
      local res = e:req("GET", "/crm/v8/Deals/search?criteria=" .. enc("(Amount:greater_than:lots)"))
      local o = shape.top_error(res, { status = 400, code = "INVALID_QUERY", message = "invalid value for search" })
      assert.are.equal("Amount", o.details.api_name, shape.show(res))
      res = e:req("GET", "/crm/v8/Deals/search?criteria=" .. enc("(Amount:starts_with:1)"))
      shape.top_error(res, { status = 400, code = "INVALID_QUERY", message = "invalid operator found",
        details = { operator = "starts_with", api_name = "Amount" } })
    end)

    it("more than 10 criteria: 400 CRITERIA_LIMIT_EXCEEDED; 10 are fine", function()
      local parts = {}
      for i = 1, 10 do parts[i] = "(Amount:equals:" .. i .. ")" end
      local ten = "(" .. table.concat(parts, "or") .. ")"
      local ok_res = e:req("GET", "/crm/v8/Deals/search?criteria=" .. enc(ten))
      assert(ok_res and (ok_res.status == 200 or ok_res.status == 204), shape.show(ok_res))
      parts[11] = "(Amount:equals:11)"
      local res = e:req("GET", "/crm/v8/Deals/search?criteria=" .. enc("(" .. table.concat(parts, "or") .. ")"))
      shape.top_error(res, { status = 400, code = "CRITERIA_LIMIT_EXCEEDED",
        message = "no of criterium that can be given exceed the limit 10" })
    end)

    it("unknown module: 400 INVALID_MODULE", function()
      local res = e:req("GET", "/crm/v8/No_Such_Module__c/search?criteria=" .. enc("(Name:equals:x)"))
      shape.top_error(res, { status = 400, code = "INVALID_MODULE" })
    end)

    it("no criteria (nor email, phone, word): 400 EXPECTED_PARAM_MISSING listing them", function()
      local res = e:req("GET", "/crm/v8/Deals/search")
      shape.top_error(res, { status = 400, code = "EXPECTED_PARAM_MISSING",
        message = "one of the expected parameter is missing",
        details = { param_names = { "criteria", "email", "phone", "word" } } })
    end)

    it("hostile criteria (deep nesting, 100 KB, NUL, '+' for space) get Zoho-shaped answers", function()
      local deep = ("("):rep(20000) .. "Stage:equals:x" .. (")"):rep(20000)
      shape.top_error(e:req("GET", "/crm/v8/Deals/search?criteria=" .. enc(deep)),
        { status = 400, code = "INVALID_QUERY", what = "deep nesting" })
      local long = "(Deal_Name:equals:" .. ("a"):rep(100000) .. ")"
      shape.top_error(e:req("GET", "/crm/v8/Deals/search?criteria=" .. enc(long)),
        { status = 400, code = "INVALID_QUERY", what = "100 KB criteria" })
      local nul = "/crm/v8/Deals/search?criteria=" .. enc("(Stage:equals:Closed") .. "%00" .. enc("Lost)")
      shape.top_error(e:req("GET", nul), { status = 400, code = "INVALID_QUERY", what = "NUL in criteria" })
      local plus = e:req("GET", "/crm/v8/Deals/search?criteria=(Stage:equals:Closed+Won)")
      local spaced = e:req("GET", "/crm/v8/Deals/search?criteria=" .. enc("(Stage:equals:Closed Won)"))
      shape.status(plus, 200, "'+' in the query string")
      assert.are.equal(spaced.body, plus.body, "'+' decodes to a space")
    end)

    it("needs a token like every Zoho call", function()
      local res = e:req("GET", "/crm/v8/Deals/search?criteria=" .. enc("(Stage:equals:x)"), { token = false })
      shape.status(res, 401, "no token")
    end)
  end)
end)

describe("zlock-emu search past 2,000 matches (--records Deals=3000)", function()
  local e
  lazy_setup(function() e = emu.start{ "--seed", "demo", "--records", "Deals=3000" } end)
  lazy_teardown(function() if e then e:stop() end end)

  it("serves pages up to record 2,000 and then answers 400 LIMIT_REACHED", function()
    local crit = enc("(Stage:not_equal:zz9 no stage)")
    local p10 = e:req("GET", "/crm/v8/Deals/search?per_page=200&page=10&criteria=" .. crit)
    shape.status(p10, 200, "page 10")
    assert.are.equal(200, #p10.json.data)
    local p11 = e:req("GET", "/crm/v8/Deals/search?per_page=200&page=11&criteria=" .. crit)
    shape.top_error(p11, { status = 400, code = "LIMIT_REACHED",
      message = "maximum response iteration limit reached", details = { limit = "2000" } })
  end)
end)
