-- Black-box spec: every row of Zoho's documented error table that zlock-emu can
-- produce, with HTTP status, code, message, details and envelope (top-level or wrapped).
local emu = require "helpers.emu"
local shape = require "helpers.zoho_shape"
local org = require "helpers.emu_org"
local socket = require "socket"

local function lock_path(module, id, lock_id)
  return ("/crm/v8/%s/%s/Locking_Information__s%s"):format(module, id, lock_id and ("/" .. lock_id) or "")
end
local function reason_body(r) return { data = { { Locked_Reason__s = r } } } end

describe("zlock-emu errors", function()
  local e
  lazy_setup(function() e = emu.start{ "--seed", "demo" } end)
  lazy_teardown(function() if e then e:stop() end end)

  describe("path and parameter errors (top-level envelope)", function()
    it("unknown module: 400 INVALID_MODULE, resource_path_index 0", function()
      local id = org.fresh(e, "Deals")
      for _, m in ipairs{ "GET", "POST" } do
        local path = lock_path("Nonexistent_Module__c", id) .. (m == "GET" and "?fields=Lock_Source__s" or "")
        local res = e:req(m, path, { body = m == "POST" and reason_body("x") or nil })
        shape.top_error(res, { status = 400, code = "INVALID_MODULE", what = m .. " unknown module",
          message = "the module name given seems to be invalid", details = { resource_path_index = 0 } })
      end
    end)

    it("non-numeric record id: 400 INVALID_DATA, resource_path_index 1", function()
      local res = e:req("POST", lock_path("Deals", "not-a-number"), { body = reason_body("x") })
      shape.top_error(res, { status = 400, code = "INVALID_DATA",
        message = "the related id given seems to be invalid", details = { resource_path_index = 1 } })
    end)

    it("unknown 19-digit record id: 400 INVALID_DATA, resource_path_index 1", function()
      for _, m in ipairs{ "GET", "POST" } do
        local path = lock_path("Deals", "1111111111111111111") .. (m == "GET" and "?fields=Lock_Source__s" or "")
        local res = e:req(m, path, { body = m == "POST" and reason_body("x") or nil })
        shape.top_error(res, { status = 400, code = "INVALID_DATA", what = m .. " unknown record",
          message = "the related id given seems to be invalid", details = { resource_path_index = 1 } })
      end
    end)

    it("unknown lock id on GET, PUT and DELETE: 400 INVALID_DATA, resource_path_index 3", function()
      local id = org.fresh(e, "Deals")
      for _, m in ipairs{ "GET", "PUT", "DELETE" } do
        local res = e:req(m, lock_path("Deals", id, "2222222222222222222"),
          { body = m == "PUT" and reason_body("x") or nil })
        shape.top_error(res, { status = 400, code = "INVALID_DATA", what = m .. " unknown lock id",
          messages = { "the id given seems to be invalid", "relation not found" },
          details = { resource_path_index = 3 } })
      end
    end)

    it("a lock id that belongs to another record: 400 INVALID_DATA, resource_path_index 3", function()
      local a, b = org.fresh(e, "Deals"), org.fresh(e, "Deals")
      local _, lid = org.lock(e, "Deals", a, "on a")
      local res = e:req("DELETE", lock_path("Deals", b, lid))
      shape.top_error(res, { status = 400, code = "INVALID_DATA",
        messages = { "the id given seems to be invalid", "relation not found" },
        details = { resource_path_index = 3 } })
      assert.are.equal(1, #org.locks(e, "Deals", a), "the lock on the other record must survive")
    end)

    it("module without a locking configuration: 400 NOT_ALLOWED, resource_path_index 2", function()
      local id = org.fresh(e, "Accounts")
      local list = e:req("GET", lock_path("Accounts", id) .. "?fields=Lock_Source__s")
      shape.top_error(list, { status = 400, code = "NOT_ALLOWED", what = "list",
        message = "Required Record Locking Configuration is not present", details = { resource_path_index = 2 } })
      local post = e:req("POST", lock_path("Accounts", id), { body = reason_body("x") })
      shape.top_error(post, { status = 400, code = "NOT_ALLOWED", what = "lock",
        message = "Required Record Locking Configuration is not present", details = { resource_path_index = 2 } })
    end)

    it("list with an unknown field name, malformed ids or a page_token it never issued: 400 INVALID_DATA", function()
      local id = org.fresh(e, "Deals")
      shape.status((org.lock(e, "Deals", id, "params")), 201, "lock")
      local base = lock_path("Deals", id) .. "?fields="
      local cases = { { base .. "Lock_Source__s,Bogus__x", "fields" }, { base .. "Lock_Source__s&ids=abc", "ids" },
                      { base .. "Lock_Source__s&page_token=garbage", "page_token" },
                      { base .. "Lock_Source__s&page=0", "page" } }
      for _, c in ipairs(cases) do
        shape.top_error(e:req("GET", c[1]), { status = 400, code = "INVALID_DATA", what = c[1],
          details = { param_name = c[2] } })
      end
    end)

    it("list without fields: 400 REQUIRED_PARAM_MISSING naming fields", function()
      local id = org.fresh(e, "Deals")
      local res = e:req("GET", lock_path("Deals", id))
      local err = shape.top_error(res, { status = 400, code = "REQUIRED_PARAM_MISSING",
        message = "One of the expected parameter is missing" })
      assert.are.equal("fields", err.details.param_name or err.details.param, "details names the param: " .. res.body)
    end)
  end)

  describe("body errors (wrapped in data)", function()
    it("reason missing on lock: 400 MANDATORY_NOT_FOUND wrapped, api_name and json_path", function()
      local id = org.fresh(e, "Deals")
      local res = e:req("POST", lock_path("Deals", id), { body = '{"data":[{}]}' })
      shape.wrapped_error(res, { status = 400, code = "MANDATORY_NOT_FOUND", message = "required field not found",
        details = { api_name = "Locked_Reason__s", json_path = "$.data[0].Locked_Reason__s" } })
      assert.are.equal(0, #org.locks(e, "Deals", id), "no lock may be created")
    end)

    it("reason missing on update: 400 MANDATORY_NOT_FOUND wrapped", function()
      local id = org.fresh(e, "Deals")
      local _, lid = org.lock(e, "Deals", id, "kept")
      local res = e:req("PUT", lock_path("Deals", id, lid), { body = '{"data":[{"Other":"x"}]}' })
      shape.wrapped_error(res, { status = 400, code = "MANDATORY_NOT_FOUND", message = "required field not found",
        details = { api_name = "Locked_Reason__s", json_path = "$.data[0].Locked_Reason__s" } })
      assert.are.equal("kept", org.locks(e, "Deals", id)[1].Locked_Reason__s)
    end)

    it("reason of the wrong type: 400 INVALID_DATA wrapped, naming Locked_Reason__s", function()
      local id = org.fresh(e, "Deals")
      for _, body in ipairs{ '{"data":[{"Locked_Reason__s":5}]}', '{"data":[{"Locked_Reason__s":{"a":1}}]}' } do
        local res = e:req("POST", lock_path("Deals", id), { body = body })
        shape.wrapped_error(res, { status = 400, code = "INVALID_DATA", what = body,
          details = { api_name = "Locked_Reason__s", json_path = "$.data[0].Locked_Reason__s" } })
      end
      assert.are.equal(0, #org.locks(e, "Deals", id))
    end)

    it("two items in data (there is no bulk lock): 400 error, nothing locked", function()
      local id = org.fresh(e, "Deals")
      local res = e:req("POST", lock_path("Deals", id),
        { body = '{"data":[{"Locked_Reason__s":"a"},{"Locked_Reason__s":"b"}]}' })
      shape.any_error(res, { status = 400 })
      assert.are.equal(0, #org.locks(e, "Deals", id))
    end)

    it("reason over 3000 characters: 400 wrapped, LIMIT_EXCEEDED or INVALID_DATA, maximum_length 3000", function()
      local id = org.fresh(e, "Deals")
      local res = e:req("POST", lock_path("Deals", id), { body = reason_body(("x"):rep(3001)) })
      shape.wrapped_error(res, { status = 400, codes = { "LIMIT_EXCEEDED", "INVALID_DATA" },
        details = { maximum_length = 3000, api_name = "Locked_Reason__s" } })
      assert.are.equal(0, #org.locks(e, "Deals", id), "no lock may be created")
    end)

    it("reason over 3000 characters on update: 400 wrapped, reason unchanged", function()
      local id = org.fresh(e, "Deals")
      local _, lid = org.lock(e, "Deals", id, "kept")
      local res = e:req("PUT", lock_path("Deals", id, lid), { body = reason_body(("y"):rep(3001)) })
      shape.wrapped_error(res, { status = 400, codes = { "LIMIT_EXCEEDED", "INVALID_DATA" },
        details = { maximum_length = 3000 } })
      assert.are.equal("kept", org.locks(e, "Deals", id)[1].Locked_Reason__s)
    end)
  end)

  describe("locking rules (403 NOT_ALLOWED, resource_path_index 1)", function()
    it("locking a manually locked record: record is already locked", function()
      local id = org.fresh(e, "Deals")
      local first = org.lock(e, "Deals", id, "first")
      shape.status(first, 201, "first lock")
      local res = e:req("POST", lock_path("Deals", id), { body = reason_body("second") })
      shape.top_error(res, { status = 403, code = "NOT_ALLOWED", message = "record is already locked",
        details = { resource_path_index = 1 } })
      assert.are.equal(1, #org.locks(e, "Deals", id))
    end)

    it("locking an automatically locked record: record is already locked", function()
      local id = org.auto_locked(e)
      local res = e:req("POST", lock_path("Deals", id), { body = reason_body("manual on top") })
      shape.top_error(res, { status = 403, code = "NOT_ALLOWED", message = "record is already locked",
        details = { resource_path_index = 1 } })
    end)

    it("unlocking an automatic lock: Automatically locked records can not be unlocked manually", function()
      local id, l = org.auto_locked(e)
      local res = e:req("DELETE", lock_path("Deals", id, l.id))
      shape.top_error(res, { status = 403, code = "NOT_ALLOWED",
        message = "Automatically locked records can not be unlocked manually", details = { resource_path_index = 1 } })
      assert.are.equal(l.id, org.locks(e, "Deals", id)[1].id, "the automatic lock must stay")
    end)

    it("updating the reason of an automatic lock: 403 NOT_ALLOWED", function()
      local id, l = org.auto_locked(e)
      local res = e:req("PUT", lock_path("Deals", id, l.id), { body = reason_body("nope") })
      shape.any_error(res, { status = 403, code = "NOT_ALLOWED" })
      assert.are.equal(shape.null, org.locks(e, "Deals", id)[1].Locked_Reason__s)
    end)

    it("manual lock where the configuration is automatic-only: record cannot be locked", function()
      local cfg = org.config(e, "Leads")
      assert.truthy(cfg, "demo Leads configuration")
      local put = e:req("PUT", "/crm/v8/settings/record_locking_configurations/" .. cfg.id .. "?module=Leads",
        { body = { record_locking_configurations = { { id = cfg.id, lock_type = "automatic",
          locking_rules = { { name = "never", lock_existing_records = false,
            criteria = { comparator = "equal", field = { api_name = "Last_Name" },
                         value = "zz-no-such-name" } } } } } } })
      shape.status(put, 200, "switch Leads to automatic")
      local id = org.fresh(e, "Leads")
      local res = e:req("POST", lock_path("Leads", id), { body = reason_body("manual") })
      shape.top_error(res, { status = 403, code = "NOT_ALLOWED",
        message = "record cannot be locked, only automatic locking is configured",
        details = { resource_path_index = 1 } })
      e:reset()
      e._records = nil
    end)
  end)

  describe("editing a locked record", function()
    it("PUT /crm/v8/Deals/{id}: 400 RECORD_LOCKED wrapped with details.action record_locking", function()
      local id = org.fresh(e, "Deals")
      shape.status((org.lock(e, "Deals", id, "frozen")), 201, "lock")
      local res = e:req("PUT", "/crm/v8/Deals/" .. id, { body = { data = { { Description = "edit" } } } })
      shape.wrapped_error(res, { status = 400, code = "RECORD_LOCKED",
        message = "Sorry, you cannot perform this operation as the record is locked.",
        details = { api_name = "id", json_path = "$.data[0].id", action = "record_locking" } })
    end)

    it("PUT /crm/v8/Deals with the id in the body: RECORD_LOCKED for that item", function()
      local id = org.fresh(e, "Deals")
      shape.status((org.lock(e, "Deals", id, "frozen")), 201, "lock")
      local res = e:req("PUT", "/crm/v8/Deals", { body = { data = { { id = id, Description = "edit" } } } })
      assert(res and res.json and res.json.data, "wrapped answer: " .. shape.show(res))
      local item = res.json.data[1]
      assert.are.equal("RECORD_LOCKED", item.code, shape.show(res))
      assert.are.equal("record_locking", item.details.action, shape.show(res))
    end)

    it("PUT on an unlocked deal succeeds (the refusal comes from the lock)", function()
      local id = org.fresh(e, "Deals")
      local res = e:req("PUT", "/crm/v8/Deals/" .. id, { body = { data = { { Description = "edit" } } } })
      shape.status(res, 200, "edit unlocked deal")
    end)
  end)

  describe("method, URL and token", function()
    it("wrong method: INVALID_REQUEST_METHOD, 403 or 405", function()
      local id = org.fresh(e, "Deals")
      local cases = { { "PATCH", lock_path("Deals", id) }, { "PATCH", lock_path("Deals", id, "2222222222222222222") },
                      { "POST", lock_path("Deals", id, "2222222222222222222") } }
      for _, c in ipairs(cases) do
        local res = e:req(c[1], c[2], { body = reason_body("x") })
        assert(res and (res.status == 403 or res.status == 405), c[1] .. " " .. c[2] .. ": " .. shape.show(res))
        shape.top_error(res, { status = res.status, code = "INVALID_REQUEST_METHOD",
          message = "The http request method type is not a valid one" })
      end
    end)

    it("unknown URL: 404 INVALID_URL_PATTERN", function()
      for _, p in ipairs{ "/crm/v8/Deals/1/Locking_Information__s/2/extra", "/nothing/here",
                          "/crm/v8/Deals/1/Not_A_Related_List__x/2/3" } do
        local res = e:req("GET", p)
        shape.top_error(res, { status = 404, code = "INVALID_URL_PATTERN", what = p,
          message = "Please check if the URL trying to access is a correct one" })
      end
    end)

    it("missing, unknown or wrongly prefixed token: 401 INVALID_TOKEN invalid oauth token", function()
      local id = org.fresh(e, "Deals")
      local path = lock_path("Deals", id) .. "?fields=Lock_Source__s"
      local cases = {
        { token = false },
        { token = "1000.not-a-real-token" },
        { token = false, headers = { authorization = "Bearer " .. emu.ACCESS_TOKEN } },
      }
      for i, c in ipairs(cases) do
        local res = e:req("GET", path, c)
        shape.top_error(res, { status = 401, code = "INVALID_TOKEN", message = "invalid oauth token",
          what = "case " .. i })
      end
    end)

    it("a refused token changes nothing", function()
      local id = org.fresh(e, "Deals")
      local res = e:req("POST", lock_path("Deals", id), { body = reason_body("x"), token = "1000.bad" })
      shape.status(res, 401, "lock with a bad token")
      assert.are.equal(0, #org.locks(e, "Deals", id))
    end)
  end)

  describe("hostile input", function()
    local function alive()
      local res = e:req("GET", "/crm/v8/users?type=CurrentUser")
      shape.status(res, 200, "emulator still answers")
    end

    it("malformed JSON: 400 with a Zoho error envelope, no lock created", function()
      local id = org.fresh(e, "Deals")
      for _, body in ipairs{ '{"data":[', "not json", "", '{"data":"x"}', "[]", '{"data":[]}' } do
        local res = e:req("POST", lock_path("Deals", id), { body = body })
        shape.any_error(res, { status = 400, what = "body " .. body })
      end
      assert.are.equal(0, #org.locks(e, "Deals", id))
      alive()
    end)

    it("a huge body (8 MiB) is refused with a Zoho-shaped 4xx error", function()
      local id = org.fresh(e, "Deals")
      local res = e:req("POST", lock_path("Deals", id), { body = reason_body(("z"):rep(8 * 1024 * 1024)) })
      assert(res, "expected an answer, the connection was closed")
      assert(res.status >= 400 and res.status < 500, shape.show(res))
      shape.any_error(res, { status = res.status })
      assert.are.equal(0, #org.locks(e, "Deals", id))
      alive()
    end)

    it("invalid UTF-8 in the reason: 400 error, no lock created", function()
      local id = org.fresh(e, "Deals")
      local res = e:req("POST", lock_path("Deals", id),
        { body = '{"data":[{"Locked_Reason__s":"bad \255\254 bytes"}]}' })
      shape.any_error(res, { status = 400 })
      assert.are.equal(0, #org.locks(e, "Deals", id))
      alive()
    end)

    it("raw garbage, negative Content-Length, a 100 KB URL and broken chunking do not bring it down", function()
      local host, port = e.url:match("http://([%d.]+):(%d+)")
      local function raw(data)
        local c = socket.tcp()
        c:settimeout(1)
        assert(c:connect(host, tonumber(port)))
        c:send(data)
        local r, _, partial = c:receive("*a")
        c:close()
        return r or partial or ""
      end
      local auth = "Connection: close\r\nAuthorization: Zoho-oauthtoken " .. emu.ACCESS_TOKEN .. "\r\n"
      raw("GARBAGE\r\n\r\n")
      raw("\0\1\2\255\254 / HTTP/1.1\r\n\r\n")
      raw("GET /crm/v8/users?type=CurrentUser HTTP/1.1\r\nHost: x\r\n" .. auth .. "Content-Length: -5\r\n\r\n")
      local long = raw("GET /crm/v8/" .. ("a"):rep(100000) .. " HTTP/1.1\r\nHost: x\r\n" .. auth .. "\r\n")
      assert.truthy(long:match("^HTTP/1%.1 4%d%d"), "a 4xx for a 100 KB URL: " .. long:sub(1, 200))
      raw("POST /crm/v8/Deals/1/Locking_Information__s HTTP/1.1\r\nHost: x\r\n" .. auth
        .. "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"dat\r\nZZ\r\n")
      alive()
    end)

    it("absurd query strings get a 4xx (never a 5xx) and the emulator stays up", function()
      local id = org.fresh(e, "Deals")
      local base = lock_path("Deals", id)
      for _, q in ipairs{ "?fields=%%%%%ZZ", "?fields=Lock_Source__s&page=-1",
                          "?fields=Lock_Source__s&per_page=999999999999999999999999",
                          "?fields=" .. ("A"):rep(20000), "?fields=Lock_Source__s&page_token=%00%01" } do
        local res = e:req("GET", base .. q)
        assert(res, "no answer to " .. q:sub(1, 60))
        assert(res.status < 500, q:sub(1, 60) .. ": " .. shape.show(res))
        if res.status >= 400 then shape.any_error(res, { status = res.status, what = q:sub(1, 60) }) end
      end
      alive()
    end)
  end)
end)
