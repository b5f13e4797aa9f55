-- One access token for HAProxy processes and their Lua states through Redis (zlock.haproxy_token
-- over core.tcp): two real HAProxy instances, each with two threads and a Lua state per thread
-- (four zlock clients), a real redis-server and zlock-emu's refresh flow.
local emu = require "helpers.emu"
local procs = require "helpers.procs"
local redis = require "helpers.redis"
local web = require "helpers.web"
local hx = require "hosts.haproxy_support"

local THREADS_CFG = hx.ROOT .. "/spec/hosts/haproxy_threads.cfg"
local PW = "hx-redis-s3cret"

-- Lock (POST) or unlock (DELETE) every deal at once, spread over the instances; every reply
-- must be the success status.
local function burst(hs, ids, method)
  local reqs = {}
  for i, id in ipairs(ids) do
    reqs[i] = { method = method, path = "/deals/" .. id .. "/lock", port = hs[i % #hs + 1].port,
                body = method == "POST" and '{"reason":"token spec"}' or nil }
  end
  local want = method == "POST" and 201 or 200
  for i, res in ipairs(web.parallel(hs[1].port, reqs)) do
    assert.equal(want, res.status, "request " .. i .. ": " .. tostring(res.body))
  end
end

local function start_pair(env)
  return { hx.start{ config = THREADS_CFG, env = env }, hx.start{ config = THREADS_CFG, env = env } }
end

local function stop_all(list)
  for _, s in ipairs(list) do s:stop() end
end

describe("HAProxy: two instances x two Lua states on one Redis", function()
  local e, r, hs, home

  lazy_setup(function()
    -- 300 ms a request: the other states ask for a token while the first one refreshes
    e = emu.start{ "--seed", "demo", "--latency", "300" }
    r = redis.start{ password = PW }
    home = procs.tmpdir()
    -- `localhost`: HAProxy's sockets resolve no names, zlock takes it as 127.0.0.1
    hs = start_pair(e:refresh_env{ ZLOCK_REDIS_URL = r.url:gsub("127%.0%.0%.1", "localhost") .. "/2" })
  end)

  lazy_teardown(function()
    if hs then stop_all(hs) end
    if r then r:stop() end
    if home then procs.rm(home) end
    if e then e:stop() end
  end)

  local ids

  it("24 concurrent locks over both instances mint exactly one token", function()
    ids = web.unlocked_deals(e, 24)
    burst(hs, ids, "POST")
    local minted = e:stats().tokens_minted
    print(("\n[haproxy+redis] 24 concurrent locks over 2 instances x 2 Lua states: %d token(s) minted")
      :format(minted))
    assert.equal(1, minted)
    assert.matches("zlock:token:%x+", r:cli("-n", "2", "KEYS", "zlock:token:*"))
    -- the states refreshed at once: beyond the winner's lock and save, lock attempts were refused
    local sets = tonumber(r:cli("INFO", "commandstats"):match("cmdstat_set:calls=(%d+)"))
    assert.is_true(sets >= 3, "SET calls: " .. tostring(sets))
    for _, h in ipairs(hs) do
      assert.falsy(h:log():find(PW, 1, true))
      assert.falsy(h:log():find("token store unusable", 1, true), h:log())
    end
  end)

  it("after a revocation at the emulator, exactly one more", function()
    assert.truthy(ids, "needs the locks of the case above")
    local before = e:stats().tokens_minted
    e:faults{ revoke_tokens = true }
    burst(hs, ids, "DELETE")
    assert.equal(before + 1, e:stats().tokens_minted)
    for _, id in ipairs(ids) do assert.falsy(web.emu_lock(e, id), "still locked: " .. id) end
  end)

  it("shares that token with zlock CLI processes (the C core's Redis store)", function()
    local before = e:stats().tokens_minted
    local env = e:refresh_env{ HOME = home, ZLOCK_REDIS_URL = r.url .. "/2" }
    local ok, err = procs.run(env, { "get", "Deals", ids[1] }, 3, true)
    assert.equal(3, ok, err)
    assert.equal(before, e:stats().tokens_minted)
  end)

  it("takes every API request's slot from the org's fleet budget, and gives it back", function()
    local before = r:budget(2)
    burst(hs, ids, "POST")
    local after, key, holders = r:budget(2)
    assert.truthy(key, "no budget in Redis")
    assert.equal(#ids, after - before)   -- one slot per lock request, over both instances
    assert.same({}, holders)
    for _, h in ipairs(hs) do assert.falsy(h:log():find("fleet budget unusable", 1, true), h:log()) end
  end)
end)

describe("HAProxy: the same load without redis_url (control)", function()
  local e, hs

  lazy_setup(function()
    e = emu.start{ "--seed", "demo", "--latency", "100" }
    hs = start_pair(e:refresh_env())
  end)

  lazy_teardown(function()
    if hs then stop_all(hs) end
    if e then e:stop() end
  end)

  it("mints a token per Lua state that served requests (more than one)", function()
    burst(hs, web.unlocked_deals(e, 24), "POST")
    local minted = e:stats().tokens_minted
    print(("\n[haproxy, no redis] 24 concurrent locks over 2 instances x 2 Lua states: %d tokens minted")
      :format(minted))
    assert.is_true(minted >= 2, "minted " .. minted)
  end)
end)

describe("HAProxy: redis_url with token_store = none", function()
  local e, r, hs

  lazy_setup(function()
    e = emu.start{ "--seed", "demo", "--latency", "100" }
    r = redis.start{ password = PW }
    hs = start_pair(e:refresh_env{ ZLOCK_REDIS_URL = r.url, ZLOCK_TOKEN_STORE = "none" })
  end)

  lazy_teardown(function()
    if hs then stop_all(hs) end
    if r then r:stop() end
    if e then e:stop() end
  end)

  it("shares nothing: a token per Lua state, none in Redis", function()
    burst(hs, web.unlocked_deals(e, 24), "POST")
    local minted = e:stats().tokens_minted
    assert.is_true(minted >= 2, "minted " .. minted)
    -- no token entry nor refresh lock (the fleet budget's keys stay: org_budget is another setting)
    assert.equal("", (r:cli("KEYS", "zlock:token:*"):gsub("%s", "")))
    assert.equal("", (r:cli("KEYS", "zlock:lock:*"):gsub("%s", "")))
    assert.matches("zlock:budget:", r:cli("KEYS", "zlock:budget:*"), 1, true)
  end)
end)

describe("HAProxy: Redis stopped", function()
  local e, r, h

  lazy_setup(function()
    e = emu.start{ "--seed", "demo" }
    r = redis.start{ password = PW }
    -- the example's config: `lua-load`, one Lua state for the process
    h = hx.start{ env = e:refresh_env{ ZLOCK_REDIS_URL = r.url } }
  end)

  lazy_teardown(function()
    if h then h:stop() end
    if r then r:stop() end
    if e then e:stop() end
  end)

  it("requests still succeed, with one warning in HAProxy's log naming no password", function()
    local ids = web.unlocked_deals(e, 10)
    burst({ h }, ids, "POST")
    assert.equal(1, e:stats().tokens_minted)
    r:stop()
    e:faults{ revoke_tokens = true }   -- the next calls must refresh, and Redis is gone
    burst({ h }, ids, "DELETE")
    local log = h:log()
    assert.equal(1, procs.count(log, "token store unusable"), log)
    assert.matches("cannot connect to 127%.0%.0%.1:%d+", log)
    assert.falsy(log:find(PW, 1, true))
    assert.equal(2, e:stats().tokens_minted)
  end)
end)

describe("HAProxy: redis_url it cannot use", function()
  local e
  lazy_setup(function() e = emu.start{ "--seed", "demo" } end)
  lazy_teardown(function() if e then e:stop() end end)

  local function refused(url, why)
    local h = hx.start{ env = e:refresh_env{ ZLOCK_REDIS_URL = url } }
    local ok, err = pcall(function()
      local res = h:req("GET", "/deals/1/lock")
      assert.equal(500, res.status)
      local log = h:log()
      assert.truthy(log:find(why, 1, true), log)
      assert.falsy(log:find(PW, 1, true))
    end)
    h:stop()
    assert(ok, err)
    assert.equal(0, e:stats().tokens_minted)
  end

  it("refuses rediss:// (HAProxy's Lua sockets do not verify certificates) before any request", function()
    refused("rediss://:" .. PW .. "@127.0.0.1:" .. web.free_port(), "rediss:// is not supported inside HAProxy")
  end)

  it("refuses a host name, which HAProxy's Lua sockets cannot resolve", function()
    refused("redis://:" .. PW .. "@redis.example:6379", "the host must be an IPv4 address")
  end)
end)
