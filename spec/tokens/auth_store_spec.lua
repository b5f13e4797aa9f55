-- `zlock auth` caches the access token its grant-code exchange returned in the token store the
-- profile's clients use (the file store; Redis with ZLOCK_REDIS_URL; nothing with
-- ZLOCK_TOKEN_STORE=none), under the key they look it up by: the `zlock get` processes after it
-- mint nothing. Real processes against zlock-emu (its mint counter) and a real redis-server.
local emu = require "helpers.emu"
local procs = require "helpers.procs"
local redis = require "helpers.redis"

local q = procs.quote
local CODE = "1000.zlockemu.demo-grant-code"

local slurp = procs.slurp

describe("zlock auth caches the exchanged access token", function()
  local e, id, home, r
  lazy_setup(function()
    e = emu.start{ "--seed", "demo" }
    id = e:state().locks[1].record_id
    r = redis.start{ password = "auth-redis-pw" }
  end)
  lazy_teardown(function()
    if r then r:stop() end
    e:stop()
  end)
  before_each(function() e:reset(); r:cli("FLUSHALL"); home = procs.tmpdir() end)
  after_each(function() procs.rm(home) end)

  local function minted() return e:stats().tokens_minted end
  local cache = function() return home .. "/.cache/zlock" end

  -- zlock with only PATH and HOME (plus `extra`) in its environment: stdout, stderr, status
  local function zlock(args, extra, stdin)
    local env = "env -i PATH=\"$PATH\" HOME=" .. q(home)
    for k, v in pairs(extra or {}) do env = env .. " " .. k .. "=" .. q(v) end
    local errf = os.tmpname()
    local cmd = "{ " .. env .. " " .. q(procs.ZLOCK) .. " " .. args .. " 2>" .. q(errf) .. "; }"
    if stdin then cmd = "printf '%s\\n' " .. q(stdin) .. " | " .. cmd end
    local out, rc = procs.sh(cmd)
    local err = slurp(errf)
    os.remove(errf)
    return out, err, rc
  end
  local function login(extra, more)
    return zlock("auth --profile emu --accounts-domain " .. e.url .. " --client-id " .. emu.CLIENT_ID
      .. " --client-secret " .. emu.CLIENT_SECRET .. (more or ""), extra, CODE)
  end
  -- n `zlock --profile emu get` processes one after the other; all must succeed
  local function gets(n, extra)
    for i = 1, n do
      local out, err, rc = zlock("--profile emu get Deals " .. id, extra)
      assert.equal(0, rc, "get " .. i .. ": " .. out .. err)
    end
  end
  local function assert_no_secret(text, more)
    for _, s in ipairs{ emu.CLIENT_SECRET, emu.REFRESH_TOKEN, CODE, more } do
      assert.falsy(text:find(s, 1, true), "a secret shows: " .. text)
    end
  end
  -- the key of the profile's clients (zl_token_store_key), computed by a client of our own
  local function key()
    local c = assert(require("zlock").new{ accounts_domain = e.url, client_id = emu.CLIENT_ID,
      client_secret = emu.CLIENT_SECRET, refresh_token = emu.REFRESH_TOKEN, token_store = "none" })
    local k = c._core:token_store_key()
    c:close()
    return k
  end

  it("file store: auth mints one token (the exchange's); 5 zlock get after it mint none", function()
    local out, err, rc = login()
    assert.equal(0, rc, out .. err)
    assert.equal("", err)
    assert.equal(1, minted())
    gets(5)
    assert.equal(1, minted(), "the gets after auth minted tokens of their own")
    local path = cache() .. "/" .. key() .. ".token"
    assert.equal("600", (procs.sh("stat -c %a " .. q(path))):match("%d+"))
    assert.equal("700", (procs.sh("stat -c %a " .. q(cache()))):match("%d+"))
    local text = assert(slurp(path), "no token file under the profile clients' key")
    local exp, dom, tok = text:match("^zlock%-token 1\n([%d.]+)\n([^\n]*)\n(1000%.[%w.]+)\n$")
    assert.truthy(tok, text)
    assert.equal(e.url, dom)                           -- the exchange's api_domain (production: not fixed)
    local left = tonumber(exp) - os.time()
    assert.is_true(left > 3500 and left <= 3600, "expiry " .. left .. " s away")
    assert_no_secret(text)
    assert.falsy(text:find(emu.CLIENT_ID, 1, true))
    assert_no_secret(out .. err, tok)                  -- nor is the access token printed
    out = zlock("auth status --profile emu")
    assert.matches("access token%s+%d+%-%d+%-%d+ [%d:]+ UTC %(in %d+ min%)", out)
  end)

  it("Redis store (ZLOCK_REDIS_URL): 5 zlock get after auth mint none; no file written", function()
    local extra = { ZLOCK_REDIS_URL = r.url .. "/4" }
    local out, err, rc = login(extra)
    assert.equal(0, rc, out .. err)
    assert.equal("", err)
    gets(5, extra)
    assert.equal(1, minted(), "the gets after auth minted tokens of their own")
    assert.is_nil(slurp(cache() .. "/" .. key() .. ".token"))
    local k = "zlock:token:" .. key()
    local ttl = tonumber(r:cli("-n", "4", "PTTL", k))
    assert.is_true(ttl > 3500000 and ttl <= 3600000, "the entry expires with the token: " .. tostring(ttl))
    local value = r:cli("-n", "4", "GET", k)
    assert.matches("^" .. e.url:gsub("%p", "%%%0") .. "\n1000%.[%w.]+\n$", value)
    assert_no_secret(value)
    assert.equal("", (r:cli("-n", "4", "KEYS", "zlock:lock:*"):gsub("%s", "")))   -- the lock was released
    assert_no_secret(out .. err, "auth-redis-pw")
  end)

  it("ZLOCK_TOKEN_STORE=none: nothing is written to the cache directory", function()
    local out, err, rc = login{ ZLOCK_TOKEN_STORE = "none" }
    assert.equal(0, rc, out .. err)
    assert.equal("", err)
    assert.equal("", (procs.sh("ls -A " .. q(home))):gsub("%.config%s*", ""))   -- only the profile
    gets(1)
    assert.equal(2, minted(), "a get found a token though none was to be cached")
  end)

  it("an explicit api_domain wins: the entry names no domain, the gets still mint none", function()
    local out, err, rc = login(nil, " --api-domain " .. e.url)
    assert.equal(0, rc, out .. err)
    assert.equal("", err)
    gets(5)
    assert.equal(1, minted())
    local text = assert(slurp(cache() .. "/" .. key() .. ".token"))
    assert.matches("^zlock%-token 1\n[%d.]+\n\n1000%.", text)
  end)

  it("a store that fails does not fail auth: the profile is saved, one line on stderr, no secret", function()
    local dead = "redis://:hunter2-pw@127.0.0.1:" .. redis.free_port() .. "/0"
    local out, err, rc = login{ ZLOCK_REDIS_URL = dead }
    assert.equal(0, rc, out .. err)
    assert.matches("saved profile emu", out)
    assert.equal(1, select(2, err:gsub("\n", "")), err)
    assert.matches("^zlock: auth: warning: .*redis.*cannot connect to 127%.0%.0%.1:%d+", err)
    assert_no_secret(out .. err, "hunter2")
    gets(1)                                            -- the profile works (the file store, empty: a mint)
    assert.equal(2, minted())
    -- an unusable cache directory: same
    e:reset()
    procs.rm(home .. "/.cache")
    assert(io.open(home .. "/.cache", "w")):close()
    out, err, rc = login()
    assert.equal(0, rc, out .. err)
    assert.equal(1, select(2, err:gsub("\n", "")), err)
    assert.matches("^zlock: auth: warning: .*file.*cannot create", err)
    assert_no_secret(out .. err)
  end)
end)
