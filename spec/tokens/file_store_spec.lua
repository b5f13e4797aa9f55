-- The file token store: zlock processes on the refresh flow share one access token per
-- (accounts domain, client id, refresh token) through ~/.cache/zlock (or $XDG_CACHE_HOME/zlock).
local emu = require "helpers.emu"
local procs = require "helpers.procs"

describe("file token store", function()
  local e, home, env, id
  lazy_setup(function()
    e = emu.start{ "--seed", "demo" }
    id = e:state().locks[1].record_id
  end)
  lazy_teardown(function() e:stop() end)
  before_each(function()
    e:reset()
    home = procs.tmpdir()
    env = { HOME = home, ZOHO_ACCOUNTS_DOMAIN = e.url, ZOHO_CLIENT_ID = emu.CLIENT_ID,
            ZOHO_CLIENT_SECRET = emu.CLIENT_SECRET, ZOHO_REFRESH_TOKEN = emu.REFRESH_TOKEN }
  end)
  after_each(function() procs.rm(home) end)

  local function minted() return e:stats().tokens_minted end

  local function cache_files()
    local out = procs.sh("ls " .. procs.quote(home .. "/.cache/zlock"))
    local t = {}
    for name in out:gmatch("[^\n]+") do t[#t + 1] = name end
    return t
  end

  local function mode(path)
    local out = procs.sh("stat -c %a " .. procs.quote(path))
    return out:match("%d+")
  end

  it("30 sequential then 20 parallel zlock get processes mint exactly one token", function()
    local ok, err = procs.run(env, { "get", "Deals", id }, 30, false)
    assert.equal(30, ok, err)
    ok, err = procs.run(env, { "get", "Deals", id }, 20, true)
    assert.equal(20, ok, err)
    assert.equal(1, minted())
    local dir = home .. "/.cache/zlock"
    assert.equal("700", mode(dir))
    local files = cache_files()
    local token_file
    for _, f in ipairs(files) do if f:match("%.token$") then token_file = dir .. "/" .. f end end
    assert.truthy(token_file, table.concat(files, " "))
    assert.equal("600", mode(token_file))
    local f = assert(io.open(token_file)); local text = f:read("*a"); f:close()
    assert.falsy(text:find(emu.CLIENT_SECRET, 1, true))
    assert.falsy(text:find(emu.REFRESH_TOKEN, 1, true))
    assert.falsy(text:find(emu.CLIENT_ID, 1, true))
    assert.matches("\n1000%.[%w.]+\n$", text)        -- the access token itself is cached
  end)

  it("20 processes started at once on a fresh HOME mint one token", function()
    local ok, err = procs.run(env, { "get", "Deals", id }, 20, true)
    assert.equal(20, ok, err)
    assert.equal(1, minted())
  end)

  it("a token answering 401 is refreshed once for all processes", function()
    assert.equal(1, (procs.run(env, { "get", "Deals", id }, 1, false)))
    assert.equal(1, minted())
    e:faults{ revoke_tokens = true }
    local ok, err = procs.run(env, { "get", "Deals", id }, 20, true)
    assert.equal(20, ok, err)
    assert.equal(2, minted())
  end)

  it("XDG_CACHE_HOME wins over HOME", function()
    local xdg = procs.tmpdir()
    env.XDG_CACHE_HOME = xdg
    assert.equal(2, (procs.run(env, { "get", "Deals", id }, 2, false)))
    assert.equal(1, minted())
    local out = procs.sh("ls " .. procs.quote(xdg .. "/zlock"))
    assert.matches("%x+%.token", out)
    procs.rm(xdg)
  end)

  it("without a store every process mints its own token (the budget the store saves)", function()
    local zlock = require "zlock"
    for _ = 1, 3 do
      local c = assert(zlock.new{ accounts_domain = e.url, client_id = emu.CLIENT_ID,
        client_secret = emu.CLIENT_SECRET, refresh_token = emu.REFRESH_TOKEN, token_store = "none" })
      assert.equal("none", c:info().token_store)
      assert.truthy(c:get("Deals", id))
    end
    assert.equal(3, minted())
  end)

  it("the bulk engine takes the stored token too, and a 401 there replaces it for all", function()
    assert.equal(1, (procs.run(env, { "get", "Deals", id }, 1, false)))
    local zlock = require "zlock"
    local c = assert(zlock.new{ accounts_domain = e.url, client_id = emu.CLIENT_ID,
      client_secret = emu.CLIENT_SECRET, refresh_token = emu.REFRESH_TOKEN,
      token_cache_dir = home .. "/.cache/zlock" })
    assert.equal("file", c:info().token_store)
    local function run(n)
      local eng = assert(c:bulk_engine{ concurrency = 4 })
      local got = 0
      for i = 1, n do assert(eng:submit{ op = "get", module = "Deals", record_id = id, key = i }) end
      while eng:inflight() > 0 do
        for _, d in ipairs(eng:poll(0.2)) do assert(d.result, tostring(d.err)); got = got + 1 end
      end
      eng:close()
      return got
    end
    assert.equal(8, run(8))
    assert.equal(1, minted())
    e:faults{ revoke_tokens = true }
    assert.equal(8, run(8))
    assert.equal(2, minted())
    -- the CLI processes now take the token the engine stored
    assert.equal(5, (procs.run(env, { "get", "Deals", id }, 5, true)))
    assert.equal(2, minted())
    c:close()
  end)

  it("refuses an unknown token_store", function()
    local zlock = require "zlock"
    local c, err = zlock.new{ accounts_domain = e.url, client_id = emu.CLIENT_ID,
      client_secret = emu.CLIENT_SECRET, refresh_token = emu.REFRESH_TOKEN, token_store = "disk" }
    assert.is_nil(c)
    assert.equal("INVALID_ARGUMENT", err.code)
  end)
end)
