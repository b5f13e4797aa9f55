-- One token between nginx workers and CLI processes on one Redis: the workers share through
-- `zlock.ngx.redis_store` (cosockets), the CLI through the core's Redis store; both read and
-- write the same entry.
local emu = require "helpers.emu"
local redis = require "helpers.redis"
local procs = require "helpers.procs"
local ngxs = require "openresty.support"

describe("nginx workers and CLI processes on one Redis", function()
  local e, r, n, home

  lazy_setup(function()
    e = emu.start{ "--seed", "demo" }
    r = redis.start{ password = "ngx-redis-pw" }
    home = procs.tmpdir()
    n = ngxs.start{ workers = 2, reuseport = true, env = {
      ZOHO_API_DOMAIN = e.url, ZOHO_ACCOUNTS_DOMAIN = e.url, ZOHO_CLIENT_ID = emu.CLIENT_ID,
      ZOHO_CLIENT_SECRET = emu.CLIENT_SECRET, ZOHO_REFRESH_TOKEN = emu.REFRESH_TOKEN,
      ZLOCK_REDIS_URL = r.url .. "/1",
    } }
  end)

  lazy_teardown(function()
    if n then n:stop() end
    if r then r:stop() end
    if home then procs.rm(home) end
    if e then e:stop() end
  end)

  local function burst(ids)
    local reqs = {}
    for i, id in ipairs(ids) do reqs[i] = { method = "GET", path = "/deals/" .. id .. "/lock" } end
    local pids = {}
    for i, res in ipairs(n:parallel(reqs)) do
      assert.is_true(res.status == 200 or res.status == 404, "request " .. i .. ": " .. tostring(res.status) ..
                     " " .. tostring(res.body))
      pids[res.worker] = true
    end
    return pids
  end

  -- Five `zlock get` processes on the same Redis and refresh token as the workers.
  local function cli_gets(id)
    local env = { HOME = home, ZLOCK_REDIS_URL = r.url .. "/1", ZOHO_ACCOUNTS_DOMAIN = e.url,
                  ZOHO_CLIENT_ID = emu.CLIENT_ID, ZOHO_CLIENT_SECRET = emu.CLIENT_SECRET,
                  ZOHO_REFRESH_TOKEN = emu.REFRESH_TOKEN }
    return procs.run(env, { "get", "Deals", id }, 5, true)
  end

  it("mints one token for both workers and the CLI processes", function()
    local ids = ngxs.unlocked_deals(e, 16)
    local seen, count, rounds = {}, 0, 0
    repeat
      for p in pairs(burst(ids)) do
        if not seen[p] then seen[p] = true; count = count + 1 end
      end
      rounds = rounds + 1
    until count == 2 or rounds == 5
    assert.equal(2, count, "one worker served every request: the test would prove nothing")
    local ok, err = cli_gets(ids[1])
    assert.equal(5, ok, err)
    assert.equal(1, e:stats().tokens_minted)
    assert.falsy(n:log():find("ngx-redis-pw", 1, true))
    assert.falsy(n:log():find("token store unusable", 1, true))
    assert.matches("zlock:token:%x+", r:cli("-n", "1", "KEYS", "zlock:token:*"))
  end)

  it("takes every API request's slot from the org's fleet budget, workers and CLI alike", function()
    local ids = ngxs.unlocked_deals(e, 16)
    local before = r:budget(1)
    burst(ids)
    local ok, err = cli_gets(ids[1])
    assert.equal(5, ok, err)
    local after, key, holders = r:budget(1)
    assert.truthy(key, "no budget in Redis")
    -- one slot per API request: 16 from the workers, 5 from the CLI (no token request here)
    assert.equal(21, after - before)
    -- every slot given back: one-at-a-time holders leave once they hold none
    assert.same({}, holders)
    assert.falsy(n:log():find("fleet budget unusable", 1, true))
  end)

  it("after a revocation, one more token for workers and CLI together", function()
    local ids = ngxs.unlocked_deals(e, 16)
    local before = e:stats().tokens_minted
    e:faults{ revoke_tokens = true }
    burst(ids)
    local ok, err = cli_gets(ids[1])
    assert.equal(5, ok, err)
    burst(ids)
    assert.equal(before + 1, e:stats().tokens_minted)
  end)
end)
