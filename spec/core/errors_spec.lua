-- Runtime failures: every row of Zoho's documented error table that zlock's four
-- operations can provoke from zlock-emu, transport failures, and the https rule. Each comes back
-- as `nil, err` with code/message/http_status/details/retryable and a readable tostring(err).
local support = require "core.support"
local zlock = require "zlock"
local org = support.org

--- Asserts the common shape of an error and returns it.
local function check_err(res, err, code, status)
  assert.is_nil(res)
  assert.is_table(err)
  assert.equals(code, err.code)
  assert.is_string(err.message)
  assert.is_true(#err.message > 0, "empty message")
  assert.equals(status, err.http_status)
  assert.is_boolean(err.retryable)
  local s = tostring(err)
  assert.is_string(s)
  assert.matches(code, s, 1, true)
  assert.is_nil(s:find("table: 0x", 1, true), "tostring(err) is not readable: " .. s)
  return err
end

describe("zlock errors from Zoho's error table", function()
  local e, c

  lazy_setup(function()
    e = support.start()
    c = support.client(e, { retries = { max_attempts = 1 } })
  end)

  lazy_teardown(function()
    if c and c.close then c:close() end
    if e then e:stop() end
  end)

  it("unknown module: 400 INVALID_MODULE, resource_path_index 0", function()
    local res, err = c:get("No_Such_Module__c", "1234567890123456789")
    check_err(res, err, "INVALID_MODULE", 400)
    assert.equals(0, err.details.resource_path_index)
    assert.is_false(err.retryable)
  end)

  it("unknown record id: 400 INVALID_DATA, resource_path_index 1", function()
    local res, err = c:lock("Deals", "1234567890123456789", "nobody home")
    check_err(res, err, "INVALID_DATA", 400)
    assert.equals(1, err.details.resource_path_index)
    assert.is_false(err.retryable)
  end)

  it("unknown lock id: 400 INVALID_DATA, resource_path_index 3 (get, update, unlock)", function()
    local rid = org.fresh(e, "Leads")
    local res, err = c:get("Leads", rid, "1234567890123456789")
    check_err(res, err, "INVALID_DATA", 400)
    assert.equals(3, err.details.resource_path_index)
    res, err = c:update("Leads", rid, "1234567890123456789", "no such lock")
    check_err(res, err, "INVALID_DATA", 400)
    assert.equals(3, err.details.resource_path_index)
    res, err = c:unlock("Leads", rid, "1234567890123456789")
    check_err(res, err, "INVALID_DATA", 400)
  end)

  it("module without a locking configuration: 400 NOT_ALLOWED, resource_path_index 2", function()
    assert.is_nil(org.config(e, "Accounts"), "the demo org must have no configuration on Accounts")
    local acc = org.records(e, "Accounts", 1)[1]
    local res, err = c:lock("Accounts", acc.id, "no configuration here")
    check_err(res, err, "NOT_ALLOWED", 400)
    assert.equals(2, err.details.resource_path_index)
    assert.matches("Record Locking Configuration", err.message, 1, true)
  end)

  it("lock an already locked record: 403 NOT_ALLOWED 'record is already locked', still one lock", function()
    local rid = org.fresh(e, "Leads")
    local first = assert(c:lock("Leads", rid, "first"))
    local res, err = c:lock("Leads", rid, "second")
    check_err(res, err, "NOT_ALLOWED", 403)
    assert.matches("already locked", err.message, 1, true)
    assert.equals(1, err.details.resource_path_index)
    assert.is_false(err.retryable)
    local server = org.locks(e, "Leads", rid)
    assert.equals(1, #server)
    assert.equals(first.id, server[1].id)
    assert.equals("first", server[1].Locked_Reason__s)
  end)

  it("manually lock an automatically locked record: 403 NOT_ALLOWED", function()
    local rid = org.auto_locked(e)
    local res, err = c:lock("Deals", rid, "on top of the rule")
    check_err(res, err, "NOT_ALLOWED", 403)
    assert.matches("already locked", err.message, 1, true)
  end)

  it("unlock an automatic lock: 403 NOT_ALLOWED, the lock stays", function()
    local rid, lock = org.auto_locked(e)
    local res, err = c:unlock("Deals", rid, lock.id)
    check_err(res, err, "NOT_ALLOWED", 403)
    assert.matches("Automatically locked", err.message, 1, true)
    assert.equals(lock.id, org.locks(e, "Deals", rid)[1].id)
  end)

  it("update the reason of an automatic lock: 403 NOT_ALLOWED", function()
    local rid, lock = org.auto_locked(e)
    local res, err = c:update("Deals", rid, lock.id, "explain the rule")
    check_err(res, err, "NOT_ALLOWED", 403)
    assert.equals(zlock.null, c:get("Deals", rid, lock.id).Locked_Reason__s)
  end)

  it("manual lock where the configuration is automatic-only: 403 NOT_ALLOWED", function()
    -- give Contacts an automatic-only configuration through Zoho's settings API
    local res = assert(e:req("POST", "/crm/v8/settings/record_locking_configurations?module=Contacts", {
      body = { record_locking_configurations = { {
        lock_type = "automatic",
        locking_rules = { { name = "never", lock_existing_records = false,
          criteria = { field = { api_name = "Last_Name" }, comparator = "equal", value = "zz-no-such-name" } } },
        restricted_actions = { "update" },
      } } },
    }))
    assert(res.status == 200 or res.status == 201, "configuration POST answered " .. res.status .. ": " .. res.body)
    local contact = org.fresh(e, "Contacts")
    local r, err = c:lock("Contacts", contact, "manual, where only automatic is allowed")
    check_err(r, err, "NOT_ALLOWED", 403)
    assert.matches("only automatic", err.message, 1, true)
    assert.same({}, org.locks(e, "Contacts", contact))
  end)

  it("a reason missing from the lock call is refused (bad argument, or Zoho's MANDATORY_NOT_FOUND)", function()
    local rid = org.fresh(e, "Leads")
    local before = support.api_requests(e)
    local ok, res, err = pcall(c.lock, c, "Leads", rid)
    if not ok then
      assert.matches("bad argument #3 to 'lock'", res, 1, true)
      assert.equals(before, support.api_requests(e))
    else
      check_err(res, err, "MANDATORY_NOT_FOUND", 400)
      assert.equals("Locked_Reason__s", err.details.api_name)
    end
    assert.same({}, org.locks(e, "Leads", rid))
  end)

  it("no permission (a Standard-profile user unlocking someone else's lock): 403 NO_PERMISSION", function()
    local rid = org.fresh(e, "Leads")
    local lock = assert(c:lock("Leads", rid, "mine"))
    local other = support.client(e, { access_token = "1000.zlockemu.standard-user-token",
                                      retries = { max_attempts = 1 } })
    local res, err = other:unlock("Leads", rid, lock.id)
    check_err(res, err, "NO_PERMISSION", 403)
    assert.is_false(err.retryable)
    assert.equals(lock.id, org.locks(e, "Leads", rid)[1].id)
    assert(c:unlock("Leads", rid, lock.id))
  end)

  it("an edition without record locking: 400 FEATURE_NOT_SUPPORTED", function()
    local rid = org.fresh(e, "Leads")
    e:faults{ locking_feature = false }
    local res, err = c:lock("Leads", rid, "no feature")
    e:faults{ locking_feature = true }
    check_err(res, err, "FEATURE_NOT_SUPPORTED", 400)
    assert.is_false(err.retryable)
    assert.same({}, org.locks(e, "Leads", rid))
  end)

  it("a token without a CRM scope: 401 OAUTH_SCOPE_MISMATCH, the token not in the error", function()
    local emu = support.emu
    local minted = assert(e:req("POST", "/oauth/v2/token?grant_type=client_credentials&client_id=" .. emu.CLIENT_ID
      .. "&client_secret=" .. emu.CLIENT_SECRET .. "&scope=Desk.tickets.ALL&soid=ZohoCRM.1", { token = false }))
    local token = assert(minted.json and minted.json.access_token, minted.body)
    local cs = support.client(e, { access_token = token, retries = { max_attempts = 1 } })
    local res, err = cs:get("Leads", org.fresh(e, "Leads"))
    check_err(res, err, "OAUTH_SCOPE_MISMATCH", 401)
    assert.is_nil(support.error_text(err):find(token, 1, true))
  end)

  it("an invalid access token: 401 INVALID_TOKEN, not retryable without a refresh token", function()
    local bad = support.client(e, { access_token = "1000.not-the-demo-token", retries = { max_attempts = 3 } })
    local res, err = bad:get("Leads", org.fresh(e, "Leads"))
    check_err(res, err, "INVALID_TOKEN", 401)
    assert.is_nil(tostring(err):find("1000.not-the-demo-token", 1, true))
    assert.is_nil(err.message:find("1000.not-the-demo-token", 1, true))
  end)

  it("server fault: 500 INTERNAL_ERROR after the attempts run out, retryable", function()
    local ef = support.start{ "--fail-rate", "1" }
    finally(function() ef:stop() end)
    local cf = support.client(ef, { retries = { max_attempts = 2, base_delay = 0.001, max_delay = 0.005 } })
    local res, err = cf:get("Leads", "1234567890123456789")
    check_err(res, err, "INTERNAL_ERROR", 500)
    assert.is_true(err.retryable)
  end)

  it("over the credits: 429 CREDITS_EXHAUSTED, not retryable (X-API-CREDITS-REMAINING: 0)", function()
    local ec = support.start{ "--credits", "1" }
    finally(function() ec:stop() end)
    local cc = support.client(ec, { retries = { max_attempts = 2, base_delay = 0.001, max_delay = 0.005 } })
    local _, first = cc:get("Leads", "1234567890123456789") -- spends the only credit
    assert.equals("INVALID_DATA", first and first.code)
    local res, err = cc:get("Leads", "1234567890123456789")
    check_err(res, err, "CREDITS_EXHAUSTED", 429)
    assert.is_false(err.retryable)
  end)
end)

describe("zlock transport errors", function()
  it("connection refused: CONNECT, retryable, no http_status", function()
    local port = support.closed_port()
    local c = assert(zlock.new{ api_domain = "http://127.0.0.1:" .. port, access_token = support.emu.ACCESS_TOKEN,
                                retries = { max_attempts = 1 } })
    local res, err = c:get("Deals", "1234567890123456789")
    check_err(res, err, "CONNECT", nil)
    assert.is_true(err.retryable)
  end)

  it("no TCP handshake within connect_timeout: CONNECT (not the whole-request TIMEOUT)", function()
    -- a loopback listener with a full backlog: further SYNs are dropped, the handshake never completes
    local socket = require "socket"
    local server = assert(socket.tcp())
    assert(server:bind("127.0.0.1", 0))
    assert(server:listen(0))
    local _, port = server:getsockname()
    local fillers = {}
    for i = 1, 3 do
      fillers[i] = socket.tcp()
      fillers[i]:settimeout(0.2)
      fillers[i]:connect("127.0.0.1", port)
    end
    finally(function()
      for _, f in ipairs(fillers) do f:close() end
      server:close()
    end)
    local c = assert(zlock.new{ api_domain = "http://127.0.0.1:" .. port, access_token = support.emu.ACCESS_TOKEN,
                                connect_timeout = 0.3, timeout = 5, retries = { max_attempts = 1 } })
    local res, err = c:get("Deals", "1234567890123456789")
    check_err(res, err, "CONNECT", nil)
    assert.is_true(err.retryable)
  end)

  it("no reply in time: TIMEOUT (emulator latency 1500 ms > client timeout 300 ms)", function()
    local e = support.start{ "--latency", "1500" }
    finally(function() e:stop() end)
    local c = support.client(e, { timeout = 0.3, retries = { max_attempts = 1 } })
    local res, err = c:get("Leads", "1234567890123456789")
    check_err(res, err, "TIMEOUT", nil)
    assert.is_true(err.retryable)
  end)

  it("TLS spoken to a plain-http server: TLS, not retryable (verification stays on)", function()
    local e = support.start()
    finally(function() e:stop() end)
    local c = assert(zlock.new{ api_domain = e.url:gsub("^http:", "https:"), access_token = support.emu.ACCESS_TOKEN,
                                retries = { max_attempts = 1 } })
    local res, err = c:get("Leads", "1234567890123456789")
    check_err(res, err, "TLS", nil)
    assert.is_false(err.retryable)
  end)

  it("a reply over max_response_bytes: BAD_RESPONSE, not a truncated table", function()
    local e = support.start()
    finally(function() e:stop() end)
    local c = support.client(e, { max_response_bytes = 64, retries = { max_attempts = 1 } })
    local rid = org.fresh(e, "Leads")
    assert(org.lock(e, "Leads", rid, ("a long reason "):rep(20)))
    local res, err = c:get("Leads", rid)
    assert.is_nil(res)
    assert.equals("BAD_RESPONSE", err.code)
  end)

  it("a reply that is not Zoho's JSON: BAD_RESPONSE", function()
    -- a one-shot server in a subprocess: answers 200 with a body that is not JSON
    local socket = require "socket"
    local port = support.closed_port()
    local script = ([[
      local socket = require "socket"
      local s = assert(socket.bind("127.0.0.1", %d))
      io.write("ready\n"); io.flush()
      s:settimeout(10)
      local conn = s:accept()
      if conn then
        conn:settimeout(2)
        repeat local l = conn:receive("*l") until not l or l == ""
        conn:send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\nnot json!")
        conn:close()
      end
    ]]):format(port)
    local p = io.popen(support.shell_quote(support.lua_bin()) .. " -e " .. support.shell_quote(script))
    assert.equals("ready", p:read("*l"))
    local c = assert(zlock.new{ api_domain = "http://127.0.0.1:" .. port, access_token = support.emu.ACCESS_TOKEN,
                                retries = { max_attempts = 1 } })
    local res, err = c:get("Deals", "1234567890123456789")
    p:close()
    check_err(res, err, "BAD_RESPONSE", 200)
    assert.is_not_nil(socket)
  end)
end)

describe("TLS verification stays on", function()
  -- a real TLS server on loopback (openssl s_server -www) with a self-signed certificate for 127.0.0.1
  local dir, pid, port, pipe

  local function sh_ok(cmd) -- os.execute: true/nil on 5.2+, a status number on 5.1/LuaJIT
    local r = os.execute(cmd)
    return r == true or r == 0
  end

  lazy_setup(function()
    if not sh_ok("command -v openssl >/dev/null 2>&1") then return end
    dir = os.tmpname()
    os.remove(dir)
    assert(sh_ok("mkdir -p " .. dir))
    assert(sh_ok(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
      .. "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout %s/key.pem -out %s/cert.pem "
      .. ">/dev/null 2>&1"):format(dir, dir)))
    pipe = assert(io.popen(("echo $$; exec openssl s_server -accept 127.0.0.1:0 -cert %s/cert.pem "
      .. "-key %s/key.pem -www 2>&1"):format(dir, dir)))
    pid = tonumber(pipe:read("*l"))
    for _ = 1, 20 do
      local line = pipe:read("*l")
      if not line then break end
      port = line:match("^ACCEPT 127%.0%.0%.1:(%d+)")
      if port then break end
    end
  end)

  lazy_teardown(function()
    if pid then os.execute("kill " .. pid .. " 2>/dev/null") end
    if pipe then pipe:close() end
    if dir then os.execute("rm -rf " .. dir) end
  end)

  it("a self-signed certificate is refused: TLS, not retryable", function()
    if not port then pending("openssl s_server is not available") return end
    local c = assert(zlock.new{ api_domain = "https://127.0.0.1:" .. port, access_token = support.emu.ACCESS_TOKEN,
                                retries = { max_attempts = 1 } })
    local res, err = c:get("Deals", "1234567890123456789")
    check_err(res, err, "TLS", nil)
    assert.is_false(err.retryable)
  end)

  it("with that certificate as ca_file the handshake succeeds (the HTML reply is then a BAD_RESPONSE)", function()
    if not port then pending("openssl s_server is not available") return end
    local c = assert(zlock.new{ api_domain = "https://127.0.0.1:" .. port, access_token = support.emu.ACCESS_TOKEN,
                                ca_file = dir .. "/cert.pem", retries = { max_attempts = 1 } })
    local res, err = c:get("Deals", "1234567890123456789")
    check_err(res, err, "BAD_RESPONSE", 200)
  end)
end)

describe("https is required except for loopback", function()
  local function refused(opts)
    local ok, c, err = pcall(zlock.new, opts)
    if ok then
      assert.is_nil(c, "zlock.new accepted " .. tostring(opts.api_domain))
      assert.is_table(err)
      return tostring(err)
    end
    return tostring(c)
  end

  it("zlock.new refuses a plain-http, non-loopback api_domain (no request is sent)", function()
    local msg = refused{ api_domain = "http://www.zohoapis.eu", access_token = support.emu.ACCESS_TOKEN }
    assert.matches("https", msg, 1, true)
  end)

  it("zlock.new refuses a plain-http, non-loopback accounts_domain", function()
    local msg = refused{ accounts_domain = "http://accounts.zoho.eu", client_id = "1000.X", client_secret = "s",
                         refresh_token = "1000.r" }
    assert.matches("https", msg, 1, true)
  end)

  it("a host that only looks like loopback is not loopback", function()
    refused{ api_domain = "http://127.0.0.1.example.com", access_token = support.emu.ACCESS_TOKEN }
    refused{ api_domain = "http://localhost.example.com", access_token = support.emu.ACCESS_TOKEN }
  end)

  it("zlock.new accepts plain http on 127.0.0.1, localhost and [::1]", function()
    for _, d in ipairs{ "http://127.0.0.1:1", "http://localhost:1", "http://[::1]:1" } do
      local c, err = zlock.new{ api_domain = d, access_token = support.emu.ACCESS_TOKEN }
      assert.is_nil(err, d .. ": " .. tostring(err))
      assert.is_not_nil(c, d)
      if c.close then c:close() end
    end
  end)
end)
