-- The Redis token store: hosts (simulated by separate HOMEs, so no file store is shared)
-- share one access token through one Redis; Redis down: calls still work, one warning.
local emu = require "helpers.emu"
local procs = require "helpers.procs"
local redis = require "helpers.redis"
local socket = require "socket"

describe("Redis token store", function()
  local e, r, id
  local homes = {}
  lazy_setup(function()
    e = emu.start{ "--seed", "demo" }
    id = e:state().locks[1].record_id
    r = redis.start{ password = "s3cret-redis-pw" }
    for i = 1, 4 do homes[i] = procs.tmpdir() end
  end)
  lazy_teardown(function()
    for _, h in ipairs(homes) do procs.rm(h) end
    if r then r:stop() end
    e:stop()
  end)
  before_each(function() e:reset(); r:cli("FLUSHALL") end)

  local function env(home, url)
    return { HOME = home, ZLOCK_REDIS_URL = url, ZOHO_ACCOUNTS_DOMAIN = e.url, ZOHO_CLIENT_ID = emu.CLIENT_ID,
             ZOHO_CLIENT_SECRET = emu.CLIENT_SECRET, ZOHO_REFRESH_TOKEN = emu.REFRESH_TOKEN }
  end
  local function minted() return e:stats().tokens_minted end

  -- 4 "hosts" x 5 processes, all started at once; returns successes and stderr of failures
  local function fleet(url)
    local out = {}
    -- one shell starts the 4 groups in parallel (each group runs 5 processes in parallel)
    local script = {}
    for i = 1, 4 do
      local parts = {}
      for k, v in pairs(env(homes[i], url)) do parts[#parts + 1] = k .. "=" .. procs.quote(v) end
      script[#script + 1] = ("( for j in 1 2 3 4 5; do ( env -u XDG_CACHE_HOME %s %s get Deals %s >/dev/null 2>>%s"
        .. " || echo FAIL >>%s ) & done; wait ) &"):format(table.concat(parts, " "), procs.quote(procs.ZLOCK), id,
        procs.quote(homes[i] .. "/err"), procs.quote(homes[i] .. "/err"))
    end
    for i = 1, 4 do os.remove(homes[i] .. "/err") end
    os.execute(table.concat(script, "\n") .. "\nwait")
    local fails = 0
    for i = 1, 4 do
      local f = io.open(homes[i] .. "/err")
      if f then
        local s = f:read("*a"); f:close()
        out[#out + 1] = s
        for _ in s:gmatch("FAIL") do fails = fails + 1 end
      end
    end
    return 20 - fails, table.concat(out)
  end

  it("4 hosts x 5 processes mint one token; after a revocation exactly one more", function()
    local ok, err = fleet(r.url .. "/3")
    assert.equal(20, ok, err)
    assert.equal("", err)
    assert.equal(1, minted())
    assert.matches("zlock:token:%x+", r:cli("-n", "3", "KEYS", "zlock:token:*"))
    local ttl = tonumber(r:cli("-n", "3", "PTTL", (r:cli("-n", "3", "KEYS", "zlock:token:*"):match("%S+"))))
    assert.is_true(ttl > 3000000 and ttl <= 3600000, "the entry expires with the token (Redis clock): " .. ttl)
    local dump = r:cli("-n", "3", "--scan") .. r:cli("-n", "3", "GET",
      (r:cli("-n", "3", "KEYS", "zlock:token:*"):match("%S+")))
    assert.falsy(dump:find(emu.REFRESH_TOKEN, 1, true))
    assert.falsy(dump:find(emu.CLIENT_SECRET, 1, true))
    e:faults{ revoke_tokens = true }
    ok, err = fleet(r.url .. "/3")
    assert.equal(20, ok, err)
    assert.equal(2, minted())
    assert.equal("", r:cli("-n", "3", "KEYS", "zlock:lock:*"):gsub("%s", ""))   -- every lock released
  end)

  it("Redis down: every call works with a per-process token and one warning; no password shown", function()
    local dead = "redis://:hunter2-pw@127.0.0.1:" .. redis.free_port() .. "/0"
    local t0 = socket.gettime()
    local ok, err = procs.run(env(homes[1], dead), { "get", "Deals", id }, 3, false)
    assert.equal(3, ok, err)
    assert.is_true(socket.gettime() - t0 < 20)
    local out, rc = procs.sh("{ env HOME=" .. procs.quote(homes[1]) .. " ZLOCK_REDIS_URL=" .. procs.quote(dead)
      .. " ZOHO_ACCOUNTS_DOMAIN=" .. e.url .. " ZOHO_CLIENT_ID=" .. emu.CLIENT_ID .. " ZOHO_CLIENT_SECRET="
      .. emu.CLIENT_SECRET .. " ZOHO_REFRESH_TOKEN=" .. emu.REFRESH_TOKEN .. " " .. procs.ZLOCK
      .. " --json get Deals " .. id .. " 2>&1 >/dev/null; }")
    assert.equal(0, rc, out)
    local n = select(2, out:gsub("warning: redis token store unusable", ""))
    assert.equal(1, n, out)
    assert.matches("cannot connect to 127%.0%.0%.1:%d+", out)
    assert.falsy(out:find("hunter2", 1, true))
  end)

  it("a Redis that accepts but never answers costs at most the timeouts, then calls go on", function()
    local srv = assert(socket.bind("127.0.0.1", 0))   -- listens, never accepts: commands time out
    local _, port = srv:getsockname()
    local zlock = require "zlock"
    local c = assert(zlock.new{ accounts_domain = e.url, client_id = emu.CLIENT_ID, client_secret = emu.CLIENT_SECRET,
      refresh_token = emu.REFRESH_TOKEN, redis_url = "redis://127.0.0.1:" .. port, connect_timeout = 0.5,
      timeout = 1 })
    assert.equal("redis", c:info().token_store)
    local t0 = socket.gettime()
    assert.truthy(c:get("Deals", id))
    local took = socket.gettime() - t0
    assert.is_true(took < 4, "took " .. took .. " s")
    t0 = socket.gettime()
    assert.truthy(c:get("Deals", id))                  -- the store was dropped: no second wait
    assert.is_true(socket.gettime() - t0 < 1)
    c:close()
    srv:close()
  end)

  it("refuses bad URLs before any request", function()
    local zlock = require "zlock"
    for _, u in ipairs{ "http://:pw@127.0.0.1:6380", "redis://:pw@", "redis://:pw@127.0.0.1:99999" } do
      local c, err = zlock.new{ accounts_domain = e.url, client_id = emu.CLIENT_ID,
        client_secret = emu.CLIENT_SECRET, refresh_token = emu.REFRESH_TOKEN, redis_url = u }
      assert.is_nil(c)
      assert.equal("INVALID_ARGUMENT", err.code)
      assert.falsy(tostring(err):find(":pw@", 1, true))
    end
    assert.equal(0, minted())
  end)

  describe("over TLS (rediss://)", function()
    local tr, dir, cert, other
    lazy_setup(function()
      dir = procs.tmpdir()
      local key
      cert, key = redis.make_cert(dir, "redis")
      other = redis.make_cert(dir, "other")
      tr = redis.start{ tls = { cert = cert, key = key }, password = "tls-pw" }
    end)
    lazy_teardown(function()
      if tr then tr:stop() end
      procs.rm(dir)
    end)

    local function client(ca)
      local zlock = require "zlock"
      return assert(zlock.new{ accounts_domain = e.url, client_id = emu.CLIENT_ID, client_secret = emu.CLIENT_SECRET,
        refresh_token = emu.REFRESH_TOKEN, redis_url = tr.url, ca_file = ca, connect_timeout = 2, timeout = 5 })
    end

    it("verifies the server against ca_file and shares one token", function()
      for _ = 1, 3 do
        local c = client(cert)
        assert.equal("redis", c:info().token_store)
        assert.truthy(c:get("Deals", id))
        c:close()
      end
      assert.equal(1, minted())
    end)

    it("a server the CA does not vouch for: the store is dropped, the call still works", function()
      local tenv = { HOME = homes[2], ZLOCK_REDIS_URL = tr.url, ZOHO_ACCOUNTS_DOMAIN = e.url,
        ZOHO_CLIENT_ID = emu.CLIENT_ID, ZOHO_CLIENT_SECRET = emu.CLIENT_SECRET, ZOHO_REFRESH_TOKEN = emu.REFRESH_TOKEN,
        SSL_CERT_FILE = other }
      local ok, err = procs.run(tenv, { "get", "Deals", id }, 1, false)
      assert.equal(1, ok, err)
      local out = procs.sh("{ env " .. "HOME=" .. procs.quote(homes[2]) .. " SSL_CERT_FILE=" .. procs.quote(other)
        .. " ZLOCK_REDIS_URL=" .. procs.quote(tr.url) .. " ZOHO_ACCOUNTS_DOMAIN=" .. e.url .. " ZOHO_CLIENT_ID="
        .. emu.CLIENT_ID .. " ZOHO_CLIENT_SECRET=" .. emu.CLIENT_SECRET .. " ZOHO_REFRESH_TOKEN=" .. emu.REFRESH_TOKEN
        .. " " .. procs.ZLOCK .. " get Deals " .. id .. " 2>&1 >/dev/null; }")
      assert.matches("TLS handshake with localhost:%d+ failed", out)
      assert.falsy(out:find("tls-pw", 1, true))
    end)
  end)
end)
