-- Request logging: `zlock --verbose` / ZLOCK_LOG=debug print one line per request and reply
-- (method, path, status, duration, attempt) on stderr and never a token or secret; `zlock.new`'s
-- on_request / on_response hooks see every request (retries and token refreshes included), on
-- the libcurl path and on a transport driven from Lua.
local S = require "bulk.support"
local emu = require "helpers.emu"

local SECRETS = { "zlockemu", "demo-access-token", "zlock-emu-demo-client-secret", "ZLOCKEMUDEMOCLIENT",
                  "refresh-token", "Zoho-oauthtoken" }

local function assert_no_secret(text)
  for _, s in ipairs(SECRETS) do
    assert.is_nil(text:find(s, 1, true), "a secret in the log: " .. s .. "\n" .. text)
  end
end

describe("request logging", function()
  local e, ids

  lazy_setup(function()
    e = S.start()
    ids = S.unlocked(e, "Deals")
  end)
  lazy_teardown(function() if e then e:stop() end end)

  local function take() return assert(table.remove(ids), "out of unlocked deals") end

  it("--verbose: one line per request and per reply on stderr, stdout unchanged, no token", function()
    local id = take()
    local out, code, err = S.zlock(e, { "--verbose", "lock", "Deals", id, "--reason", "logging spec" })
    assert.equals(0, code, err)
    assert.matches("^locked Deals/" .. id, out)
    local path = "/crm/v8/Deals/" .. id .. "/Locking_Information__s"
    assert.matches("zlock: POST " .. path .. " %(lock Deals/" .. id .. "%) attempt 1 %->\n", err)
    assert.matches("zlock: POST " .. path .. " %(lock Deals/" .. id .. "%) attempt 1 <%- 201 in %d+ ms\n", err)
    assert_no_secret(out .. err)
    local quiet
    quiet = select(3, S.zlock(e, { "unlock", "Deals", id }))
    assert.equals("", quiet)
  end)

  it("ZLOCK_LOG=debug does what --verbose does; a failed reply is logged with its status", function()
    local _, code, err = S.zlock(e, { "get", "Deals", "1234567890123456789" }, { ZLOCK_LOG = "debug" })
    assert.equals(1, code)
    assert.matches("zlock: GET /crm/v8/Deals/1234567890123456789/Locking_Information__s", err, 1, true)
    assert.matches("attempt 1 <%- 400 in %d+ ms", err)
    assert_no_secret(err)
  end)

  it("the refresh flow: the token request is logged as a token refresh, without any secret", function()
    local env = "env -u ZOHO_ACCESS_TOKEN ZOHO_API_DOMAIN=" .. S.quote(e.url) .. " ZOHO_ACCOUNTS_DOMAIN="
      .. S.quote(e.url) .. " ZOHO_CLIENT_ID=" .. S.quote(emu.CLIENT_ID or "1000.ZLOCKEMUDEMOCLIENT")
      .. " ZOHO_CLIENT_SECRET=" .. S.quote(emu.CLIENT_SECRET or "zlock-emu-demo-client-secret")
      .. " ZOHO_REFRESH_TOKEN=" .. S.quote(emu.REFRESH_TOKEN or "1000.zlockemu.demo-refresh-token") .. " "
    local p = io.popen(env .. "bin/zlock --verbose get Deals " .. take() .. " 2>&1 >/dev/null")
    local err = p:read("*a")
    local _, _, code = p:close()
    assert.equals(0, code, err)
    assert.matches("zlock: POST /oauth/v2/token %(get Deals/%d+%) token refresh <%- 200 in %d+ ms", err)
    assert.matches("GET /crm/v8/Deals/%d+/Locking_Information__s.- attempt 1 <%- 204", err)   -- no lock
    assert_no_secret(err)
    assert.is_nil(err:find("?", 1, true) and err:match("/oauth/v2/token%?"), "no query on the token endpoint")
  end)

  it("run --verbose: one line per item (the bulk engine calls no per-request hook)", function()
    local id = take()
    local f = S.tmpfile(([[
      return { module = "Deals", select = { fields = { "Deal_Name" } }, action = "lock",
               where = function(r) return r.id == "%s" end, reason = "logging spec run" }
    ]]):format(id), ".lua")
    local _, code, err = S.zlock(e, { "run", f, "--verbose" })
    os.remove(f)
    assert.equals(0, code, err)
    assert.matches("zlock: lock Deals/" .. id .. " %-> locked lock %d+\n", err)
    assert.matches("zlock: GET /crm/v8/Deals%?[^\n]*fields=Deal_Name", err)   -- the selection, per request
    assert_no_secret(err)
  end)

  describe("hooks of zlock.new", function()
    local function client(opts)
      local o = { retries = { max_attempts = 3, base_delay = 0.01, max_delay = 0.02 } }
      for k, v in pairs(opts) do o[k] = v end
      return S.client(e, o)
    end

    local function recorder()
      local seen = {}
      return seen, function(info) seen[#seen + 1] = { "request", info } end,
                   function(info) seen[#seen + 1] = { "response", info } end
    end

    it("see each request and reply, retries included (libcurl)", function()
      local seen, req, resp = recorder()
      local lines = {}
      local c = client{ on_request = req, on_response = resp, log = function(l) lines[#lines + 1] = l end }
      e:faults{ fail_rate = 1 }
      local res, err = c:get("Deals", ids[#ids])
      e:faults{ fail_rate = 0 }
      c:close()
      assert.is_nil(res)
      assert.equals("INTERNAL_ERROR", err.code)
      assert.equals(6, #seen)
      for i = 1, 3 do
        local rq, rs = seen[2 * i - 1], seen[2 * i]
        assert.equals("request", rq[1])
        assert.equals("response", rs[1])
        assert.equals(i, rq[2].attempt)
        assert.equals(i, rs[2].attempt)
        assert.equals("GET", rs[2].method)
        assert.equals("get", rs[2].operation)
        assert.equals("Deals", rs[2].module)
        assert.matches("^/crm/v8/Deals/%d+/Locking_Information__s", rs[2].path)
        assert.equals(500, rs[2].status)
        assert.is_number(rs[2].ms)
      end
      assert.equals(6, #lines)
      assert.matches("attempt 3 <%- 500 in %d+ ms$", lines[6])
    end)

    it("see a transport failure as status 0 and its error name", function()
      local dead = S.start()
      local url = dead.url
      dead:stop()
      local seen, req, resp = recorder()
      local zlock = require "zlock"
      local c = assert(zlock.new{ api_domain = url, access_token = "x", on_request = req, on_response = resp,
                                  retries = { max_attempts = 1 } })
      local res, err = c:get("Deals", "1")
      c:close()
      assert.is_nil(res)
      assert.equals("CONNECT", err.code)
      assert.equals(2, #seen)
      assert.equals(0, seen[2][2].status)
      assert.equals("connect", seen[2][2].error)
    end)

    it("see the requests of a transport driven from Lua, with the same fields", function()
      local seen, req, resp = recorder()
      local sent = 0
      local transport = { send = function(_, step)
        sent = sent + 1
        assert.is_string(step.url)
        return 404, '{"data":[]}'
      end }
      local c = client{ transport = transport, on_request = req, on_response = resp }
      c:get("Deals", "1")
      c:close()
      assert.is_true(sent >= 1)
      assert.equals(2 * sent, #seen)
      assert.equals(1, seen[1][2].attempt)
      assert.equals(404, seen[2][2].status)
      assert.is_number(seen[2][2].ms)
    end)

    it("refuses hooks that are not functions and an unknown log level", function()
      local zlock = require "zlock"
      local ok, err = pcall(zlock.new, { access_token = "x", on_request = 1 })
      assert.is_false(ok)
      assert.matches("bad argument #1 to 'new' (on_request must be a function", err, 1, true)
      assert.has_error(function() zlock.new{ access_token = "x", log = "loud" } end,
        "bad argument #1 to 'new' (log must be \"debug\", \"off\" or a function)")
    end)
  end)
end)
