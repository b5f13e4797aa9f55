--- The transport conformance cases: every transport zlock ships (libcurl, nginx cosockets,
-- HAProxy's httpclient, lua-http on cqueues) runs the same calls, inside its own host, against
-- zlock-emu; the spec checks the results and the emulator's state.
--
--     require("hosts.conformance")("haproxy", function(e) return host end, _ENV or getfenv(1))
--
-- A host is `{ call = function(self, client_opts, method, ...) -> answer, stop = function(self),
-- tls_codes = { "TLS", ... } }`; `answer` is `{result=, err=, raised=, transport=}` as
-- spec/hosts/rpc.lua gives it.
local emu = require "helpers.emu"
local web = require "helpers.web"
local socket = require "socket"

local FAST = { max_attempts = 5, base_delay = 0.01, max_delay = 0.05 }

local function crm_calls(e)
  local n = 0
  for route, by_status in pairs(e:stats().requests) do
    if route ~= "admin" then for _, c in pairs(by_status) do n = n + c end end
  end
  return n
end

local function count_status(e, status)
  local n = 0
  for route, by_status in pairs(e:stats().requests) do
    if route ~= "admin" then n = n + (by_status[tostring(status)] or 0) end
  end
  return n
end

local function locks_of(e, id)
  local out = {}
  for _, l in ipairs(e:state().locks) do
    if l.module == "Deals" and l.record_id == id then out[#out + 1] = l end
  end
  return out
end

local function sh_ok(cmd)
  local r = os.execute(cmd)
  return r == true or r == 0
end

-- A TLS server whose certificate nobody trusts; returns its port and a stop function.
local function untrusted_tls_server()
  local dir = os.tmpname()
  os.remove(dir)
  assert(sh_ok("mkdir -p " .. dir .. " && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1" ..
    " -keyout " .. dir .. "/k.pem -out " .. dir .. "/c.pem >/dev/null 2>&1"), "openssl could not make a certificate")
  local port = web.free_port()
  local p = assert(io.popen("echo $$; exec openssl s_server -quiet -www -accept " .. port .. " -cert " .. dir ..
    "/c.pem -key " .. dir .. "/k.pem >/dev/null 2>&1", "r"))
  local pid = tonumber(p:read("*l"))
  local deadline = socket.gettime() + 5
  repeat
    local c = socket.connect("127.0.0.1", port)
    if c then c:close(); break end
    socket.sleep(0.05)
  until socket.gettime() > deadline
  return port, function()
    os.execute("kill " .. pid .. " 2>/dev/null")
    p:close()
    os.execute("rm -rf " .. dir)
  end
end

return function(name, start_host, env)
local describe, it, assert = env.describe, env.it, env.assert
local lazy_setup, lazy_teardown = env.lazy_setup, env.lazy_teardown

describe("transport conformance: " .. name, function()
  local e, h, plain

  lazy_setup(function()
    e = emu.start{ "--seed", "demo" }
    h = start_host(e)
    plain = { api_domain = e.url, access_token = emu.ACCESS_TOKEN, retries = FAST }
  end)

  lazy_teardown(function()
    if h then h:stop() end
    if e then e:stop("KILL") end   -- a request held by the 429 case may still sleep there
  end)

  local function call(opts, method, ...)
    local a = h:call(opts, method, ...)
    assert.equal(name, a.transport, "the host did not use the transport under test")
    return a
  end

  it("locks, reads one, lists, updates and unlocks; the emulator agrees", function()
    local id = web.unlocked_deals(e, 1)[1]
    local a = call(plain, "lock", "Deals", id, "conformance")
    assert.is_nil(a.err)
    local lock_id = a.result.id
    assert.equal(locks_of(e, id)[1].lock_id, lock_id)
    a = call(plain, "get", "Deals", id, lock_id)
    assert.equal("conformance", a.result.Locked_Reason__s)
    a = call(plain, "get", "Deals", id)
    assert.equal(1, #a.result)
    assert.equal(lock_id, a.result[1].id)
    assert.is_nil(call(plain, "update", "Deals", id, lock_id, "changed").err)
    assert.equal("changed", locks_of(e, id)[1].reason)
    assert.is_nil(call(plain, "unlock", "Deals", id, lock_id).err)
    assert.same({}, locks_of(e, id))
  end)

  it("gives Zoho's errors as zlock errors, and refuses bad arguments before any request", function()
    local a = call(plain, "lock", "Deals", "1234567", "x")
    assert.equal("INVALID_DATA", a.err.code)
    assert.equal(400, a.err.http_status)
    local before = crm_calls(e)
    a = call(plain, "lock", "Not a module", "1", "x")
    assert.matches("bad argument", a.raised)
    assert.equal(before, crm_calls(e))
  end)

  it("retries a 429 until the org's limit has room", function()
    local id = web.unlocked_deals(e, 1)[1]
    e:faults{ concurrency_limit = 1, latency_ms = 1500 }
    local holder = e:hold(id)   -- takes the only place for 1.5 s
    e:wait_in_flight(1)
    e:faults{ latency_ms = 0 }
    local before = count_status(e, 429)
    local a = call({ api_domain = e.url, access_token = emu.ACCESS_TOKEN,
                     retries = { max_attempts = 40, base_delay = 0.1, max_delay = 0.2, max_time = 20 } },
                   "lock", "Deals", id, "after 429s")
    holder:close()
    e:faults{ concurrency_limit = 0 }
    assert.is_nil(a.err, a.err and a.err.message)
    assert.is_true(count_status(e, 429) > before, "no 429 was met: the case proves nothing")
    assert.equal(1, #locks_of(e, id))
  end)

  it("reconciles lost replies: every lock lands once, every unlock counts as done", function()
    -- up to 20 deals: as many as it takes for an applied request to lose its reply (3 at least)
    local ids, pool = {}, web.unlocked_deals(e, 20)
    e:faults{ drop_rate = 0.4 }
    local opts = { api_domain = e.url, access_token = emu.ACCESS_TOKEN,
                   retries = { max_attempts = 12, base_delay = 0.01, max_delay = 0.05 } }
    local ok, why = pcall(function()
      for _, id in ipairs(pool) do
        if #ids >= 3 and e:stats().drops_after_apply > 0 then break end
        ids[#ids + 1] = id
        local a = call(opts, "lock", "Deals", id, "lost " .. id)
        assert.is_nil(a.err, a.err and a.err.message)
        local held = locks_of(e, id)
        assert.equal(1, #held)
        assert.equal(held[1].lock_id, a.result.id)
      end
      for _, id in ipairs(ids) do
        local a = call(opts, "unlock", "Deals", id, locks_of(e, id)[1].lock_id)
        assert.is_nil(a.err, a.err and a.err.message)
        assert.same({}, locks_of(e, id))
      end
    end)
    e:faults{ drop_rate = 0 }
    assert(ok, why)
    assert.is_true(e:stats().drops_after_apply > 0, "no applied request lost its reply: the case proves nothing")
  end)

  it("refreshes the token: one mint, and one more after a revocation", function()
    local id = web.unlocked_deals(e, 1)[1]
    local opts = { api_domain = e.url, accounts_domain = e.url, client_id = emu.CLIENT_ID,
                   client_secret = emu.CLIENT_SECRET, refresh_token = emu.REFRESH_TOKEN, retries = FAST }
    local before = e:stats().tokens_minted
    assert.is_nil(call(opts, "get", "Deals", id).err)
    assert.is_nil(call(opts, "get", "Deals", id).err)
    assert.equal(before + 1, e:stats().tokens_minted)
    e:faults{ revoke_tokens = true }
    assert.is_nil(call(opts, "get", "Deals", id).err)
    assert.equal(before + 2, e:stats().tokens_minted)
  end)

  it("refuses a server whose certificate it cannot verify; nothing is sent in the clear", function()
    local port, stop = untrusted_tls_server()
    local a = call({ api_domain = "https://127.0.0.1:" .. port, access_token = emu.ACCESS_TOKEN,
                     retries = { max_attempts = 2, base_delay = 0.01, max_delay = 0.02 } },
                   "lock", "Deals", "5843104000000100309", "tls")
    stop()
    assert.is_table(a.err)
    local allowed = {}
    for _, c in ipairs(h.tls_codes) do allowed[c] = true end
    assert.is_true(allowed[a.err.code], "error " .. tostring(a.err.code) .. ": " .. tostring(a.err.message))
  end)
end)
end
