-- Tokens and the fleet budget for cqueues servers through Redis (zlock.cqueues with
-- redis_url, over zlock.cqueues_redis): three lua-http servers under LuaJIT
-- (spec/hosts/cqueues_fleet.lua), each running its share of a burst as concurrent coroutines,
-- a real redis-server and zlock-emu. Controls without Redis show what each figure would be
-- without the sharing.
local emu = require "helpers.emu"
local procs = require "helpers.procs"
local redis = require "helpers.redis"
local server = require "helpers.server"
local web = require "helpers.web"
local cjson = require "cjson"

local ROOT = os.getenv("PWD") or "."
local PW = "cq-fleet-s3cret"
local N = 3          -- server processes
local PER = 10       -- concurrent calls in each

local function start(env, n)
  local list = {}
  for i = 1, n or N do
    local port = web.free_port()
    local all = { LUA_PATH = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;" .. ROOT .. "/spec/?.lua;;",
                  LUA_CPATH = ROOT .. "/build/luajit/?.so;;" }
    for k, v in pairs(env) do all[k] = v end
    list[i] = server.start{ name = "cqueues server " .. i, port = port, env = all,
      argv = { "luajit", ROOT .. "/spec/hosts/cqueues_fleet.lua", tostring(port) } }
  end
  return list
end

local function stop_all(list)
  for _, s in ipairs(list or {}) do s:stop() end
end

-- `op` ("lock" or "unlock") on every id at once: the ids dealt out over the servers, each
-- server calling its share in coroutines. Every call must succeed; returns the servers'
-- answers (`late_ms`, `ms`).
local function burst(servers, ids, op)
  local shares = {}
  for i, id in ipairs(ids) do
    local k = (i - 1) % #servers + 1
    shares[k] = shares[k] or {}
    table.insert(shares[k], id)
  end
  local reqs = {}
  for k, s in ipairs(servers) do
    reqs[k] = { method = "POST", path = "/burst", port = s.port, body = cjson.encode{ op = op, ids = shares[k] } }
  end
  local out = {}
  for k, res in ipairs(web.parallel(servers[1].port, reqs, 60)) do
    assert.equal(200, res.status, tostring(res.body))
    out[k] = cjson.decode(res.body)
    assert.equal("cqueues", out[k].transport)
    assert.same({}, out[k].errors)
  end
  return out
end

local function worst(answers, field)
  local m = 0
  for _, a in ipairs(answers) do m = math.max(m, a[field]) end
  return m
end

describe("cqueues: three servers x ten coroutines on one Redis", function()
  local e, r, servers, ids

  lazy_setup(function()
    -- 300 ms a request: every coroutine of every server asks for a token while one refreshes
    e = emu.start{ "--seed", "demo", "--latency", "300" }
    r = redis.start{ password = PW }
    servers = start(e:refresh_env{ ZLOCK_REDIS_URL = r.url .. "/2" })
  end)
  lazy_teardown(function()
    stop_all(servers)
    if r then r:stop() end
    if e then e:stop() end
  end)

  it("30 concurrent locks mint exactly one token", function()
    ids = web.unlocked_deals(e, N * PER)
    local out = burst(servers, ids, "lock")
    local minted = e:stats().tokens_minted
    print(("\n[cqueues+redis] %d servers x %d coroutines: %d token(s) minted; ticker at most %.1f ms late")
      :format(N, PER, minted, worst(out, "late_ms")))
    assert.equal(1, minted)
    assert.matches("zlock:token:%x+", r:cli("-n", "2", "KEYS", "zlock:token:*"))
    assert.is_true(worst(out, "late_ms") < 50)
    for _, s in ipairs(servers) do
      assert.falsy(s:log():find(PW, 1, true))
      assert.falsy(s:log():find("warning", 1, true), s:log())
    end
  end)

  it("after a revocation at the emulator, exactly one more", function()
    assert.truthy(ids, "needs the locks of the case above")
    e:faults{ revoke_tokens = true }
    burst(servers, ids, "unlock")
    assert.equal(2, e:stats().tokens_minted)
    for _, id in ipairs(ids) do assert.falsy(web.emu_lock(e, id), "still locked: " .. id) end
    assert.equal("", (r:cli("-n", "2", "KEYS", "zlock:lock:*"):gsub("%s", "")))   -- refresh lock released
  end)

  it("takes every API request's slot from the org's fleet budget, and gives it back", function()
    local before = r:budget(2)
    burst(servers, ids, "lock")
    local after, key, holders = r:budget(2)
    assert.truthy(key, "no budget in Redis")
    assert.equal(#ids, after - before)   -- one slot per lock request, over the three servers
    assert.same({}, holders)
  end)
end)

describe("cqueues: the same servers without Redis (control)", function()
  local e, servers

  lazy_setup(function()
    e = emu.start{ "--seed", "demo", "--latency", "300" }
    servers = start(e:refresh_env())
  end)
  lazy_teardown(function()
    stop_all(servers)
    if e then e:stop() end
  end)

  it("mints a token per process", function()
    burst(servers, web.unlocked_deals(e, N * PER), "lock")
    local minted = e:stats().tokens_minted
    print(("\n[cqueues, no redis] %d servers x %d coroutines: %d tokens minted"):format(N, PER, minted))
    assert.equal(N, minted)
  end)
end)

describe("cqueues: redis_url with token_store = none", function()
  local e, r, servers

  lazy_setup(function()
    e = emu.start{ "--seed", "demo", "--latency", "100" }
    r = redis.start{ password = PW }
    servers = start(e:refresh_env{ ZLOCK_REDIS_URL = r.url, ZLOCK_TOKEN_STORE = "none" })
  end)
  lazy_teardown(function()
    stop_all(servers)
    if r then r:stop() end
    if e then e:stop() end
  end)

  it("shares no token (one per process, none in Redis) and still takes budget slots", function()
    burst(servers, web.unlocked_deals(e, N * PER), "lock")
    assert.equal(N, e:stats().tokens_minted)
    assert.equal("", (r:cli("KEYS", "zlock:token:*"):gsub("%s", "")))
    assert.equal("", (r:cli("KEYS", "zlock:lock:*"):gsub("%s", "")))
    assert.matches("zlock:budget:", r:cli("KEYS", "zlock:budget:*"), 1, true)
  end)
end)

describe("cqueues: the fleet budget with a given limit below the concurrency", function()
  local LIMIT = 3
  local e, r

  lazy_setup(function()
    e = emu.start{ "--seed", "demo", "--latency", "100" }
    r = redis.start{ password = PW }
  end)
  lazy_teardown(function()
    if r then r:stop() end
    if e then e:stop() end
  end)

  local function run(env)
    local servers = start(env)
    local ok, out = pcall(function()
      e:req("DELETE", "/__emu/stats", { token = false })
      local answers = burst(servers, web.unlocked_deals(e, N * PER), "lock")
      return { offered = e:stats().max_in_flight_offered, late = worst(answers, "late_ms"),
               ms = worst(answers, "ms"), logs = servers[1]:log() }
    end)
    stop_all(servers)
    assert(ok, out)
    return out
  end

  it("never has more than the limit in flight at the emulator, and the loop never stalls", function()
    local out = run{ ZOHO_API_DOMAIN = e.url, ZOHO_ACCESS_TOKEN = emu.ACCESS_TOKEN,
                     ZLOCK_REDIS_URL = r.url, ZLOCK_ORG_LIMIT = tostring(LIMIT) }
    print(("\n[cqueues+redis] %d servers x %d locks, ZLOCK_ORG_LIMIT=%d: peak %d in flight, %.0f ms, " ..
           "ticker at most %.1f ms late"):format(N, PER, LIMIT, out.offered, out.ms, out.late))
    assert.is_true(out.offered <= LIMIT, "peak in flight " .. out.offered)
    assert.is_true(out.offered >= 2, "the calls never overlapped: peak " .. out.offered)
    assert.is_true(out.late < 50, ("ticker %.1f ms late"):format(out.late))
    assert.falsy(out.logs:find("warning", 1, true), out.logs)
  end)

  it("control: without Redis the same burst goes out all at once", function()
    local out = run{ ZOHO_API_DOMAIN = e.url, ZOHO_ACCESS_TOKEN = emu.ACCESS_TOKEN,
                     ZLOCK_ORG_LIMIT = tostring(LIMIT) }
    print(("[cqueues, no redis] the same burst: peak %d in flight"):format(out.offered))
    assert.is_true(out.offered > 2 * LIMIT, "peak in flight " .. out.offered)
  end)
end)

describe("cqueues: Redis stopped", function()
  local e, r, servers

  lazy_setup(function()
    e = emu.start{ "--seed", "demo", "--latency", "100" }
    r = redis.start{ password = PW }
    servers = start(e:refresh_env{ ZLOCK_REDIS_URL = r.url })
  end)
  lazy_teardown(function()
    stop_all(servers)
    if r then r:stop() end
    if e then e:stop() end
  end)

  it("every call succeeds, each server warns once (token store, budget), naming no password", function()
    local ids = web.unlocked_deals(e, N * PER)
    burst(servers, ids, "lock")
    assert.equal(1, e:stats().tokens_minted)
    r:stop()
    e:faults{ revoke_tokens = true }   -- the next calls must refresh, and Redis is gone
    local t0 = os.time()
    local out = burst(servers, ids, "unlock")
    assert.is_true(os.time() - t0 < 20, "the calls waited on the dead Redis")
    assert.equal(1 + N, e:stats().tokens_minted)   -- then each process refreshes its own
    for _, s in ipairs(servers) do
      local log = s:log()
      assert.equal(1, procs.count(log, "token store unusable"), log)
      assert.equal(1, procs.count(log, "fleet budget unusable"), log)
      assert.matches("cannot connect to 127%.0%.0%.1:%d+", log)
      assert.falsy(log:find(PW, 1, true))
    end
    assert.is_true(worst(out, "late_ms") < 50)
  end)

  it("a Redis that is not there from the start: the same, and no call waits for it", function()
    local dead = start(e:refresh_env{ ZLOCK_REDIS_URL = "redis://:" .. PW .. "@127.0.0.1:" .. redis.free_port() },
      1)
    local ok, err = pcall(function()
      local before = e:stats().tokens_minted
      local out = burst(dead, web.unlocked_deals(e, PER), "lock")
      assert.equal(before + 1, e:stats().tokens_minted)
      local log = dead[1]:log()
      assert.equal(1, procs.count(log, "token store unusable"), log)
      assert.equal(1, procs.count(log, "fleet budget unusable"), log)
      assert.falsy(log:find(PW, 1, true))
      assert.is_true(out[1].ms < 5000, "burst took " .. out[1].ms .. " ms")
    end)
    stop_all(dead)
    assert(ok, err)
  end)
end)

describe("cqueues: a Redis that stops answering", function()
  local e, r, servers

  lazy_setup(function()
    e = emu.start{ "--seed", "demo", "--latency", "100" }
    r = redis.start{ password = PW }
    servers = start({ ZOHO_API_DOMAIN = e.url, ZOHO_ACCESS_TOKEN = emu.ACCESS_TOKEN, ZLOCK_REDIS_URL = r.url }, 1)
  end)
  lazy_teardown(function()
    stop_all(servers)
    if r then
      os.execute("kill -CONT " .. r.pid)
      r:stop()
    end
    if e then e:stop() end
  end)

  it("costs the budget's 2 s once, with one warning; the loop runs meanwhile, every call succeeds", function()
    local ids = web.unlocked_deals(e, PER)
    burst(servers, ids, "lock")
    assert(os.execute("kill -STOP " .. r.pid))   -- connections open, replies never come
    local out = burst(servers, ids, "unlock")[1]
    print(("\n[cqueues+redis] Redis stopped answering: %d unlocks in %.0f ms, ticker at most %.1f ms late")
      :format(PER, out.ms, out.late_ms))
    assert.is_true(out.ms >= 2000 and out.ms < 4000, out.ms .. " ms")
    assert.is_true(out.late_ms < 50)
    local log = servers[1]:log()
    assert.equal(1, procs.count(log, "fleet budget unusable (127.0.0.1:" .. r.port .. ": Connection timed out)"), log)
    assert.falsy(log:find(PW, 1, true))
  end)
end)

describe("cqueues: tokens over rediss://", function()
  local e, r, dir, cert

  lazy_setup(function()
    e = emu.start{ "--seed", "demo", "--latency", "300" }
    dir = procs.tmpdir()
    local key
    cert, key = redis.make_cert(dir, "redis")   -- self-signed, for localhost
    r = redis.start{ tls = { cert = cert, key = key }, password = PW }
  end)
  lazy_teardown(function()
    if r then r:stop() end
    if dir then procs.rm(dir) end
    if e then e:stop() end
  end)

  local function run(extra, n)
    e:req("DELETE", "/__emu/stats", { token = false })
    local servers = start(e:refresh_env(extra), n)
    local ok, out = pcall(function()
      burst(servers, web.unlocked_deals(e, #servers * PER), "lock")
      local logs = {}
      for i, s in ipairs(servers) do logs[i] = s:log() end
      return { minted = e:stats().tokens_minted, logs = table.concat(logs, "\n") }
    end)
    stop_all(servers)
    assert(ok, out)
    return out
  end

  it("with ca_file: two servers share one token over TLS", function()
    local out = run({ ZLOCK_REDIS_URL = r.url, FLEET_CA_FILE = cert }, 2)
    assert.equal(1, out.minted)
    assert.falsy(out.logs:find("warning", 1, true), out.logs)
  end)

  it("without it the self-signed certificate is refused: a token per server, one warning each", function()
    local out = run({ ZLOCK_REDIS_URL = r.url }, 2)
    assert.equal(2, out.minted)
    assert.equal(2, procs.count(out.logs, "token store unusable (TLS handshake with localhost:"), out.logs)
    assert.matches("certificate verify failed %(self%-signed certificate%)", out.logs)
    assert.falsy(out.logs:find(PW, 1, true))
  end)
end)
