-- The core client's :store_token (zl_client_store_token): a token minted outside the refresh
-- flow (a grant code's exchange) installed and saved in the client's token store, under the key
-- other clients look it up by, so their first call mints nothing; the domain rule; the store's
-- refresh lock; bad input refused with no secret in the error. Against zlock-emu (its mint
-- counter); the demo access token stands for the exchange's.
local emu = require "helpers.emu"
local procs = require "helpers.procs"
local zlock = require "zlock"

local q = procs.quote

local slurp = procs.slurp

describe("core client :store_token", function()
  local e, id, dir
  lazy_setup(function()
    e = emu.start{ "--seed", "demo" }
    id = e:state().locks[1].record_id
  end)
  lazy_teardown(function() e:stop() end)
  before_each(function() e:reset(); dir = procs.tmpdir() .. "/cache" end)
  after_each(function() procs.rm(dir:match("^(.*)/cache$")) end)

  local function minted() return e:stats().tokens_minted end
  -- a client on the demo OAuth client (accounts domain = the emulator), file store in dir
  local function client(opts)
    local o = { accounts_domain = e.url, client_id = emu.CLIENT_ID, client_secret = emu.CLIENT_SECRET,
                refresh_token = emu.REFRESH_TOKEN, token_cache_dir = dir }
    for k, v in pairs(opts or {}) do o[k] = v end
    return assert(zlock.new(o))
  end
  local function entry(c) return slurp(dir .. "/" .. c._core:token_store_key() .. ".token") end

  it("saves under the clients' key: another client's first call mints nothing and learns the domain", function()
    local c = client()
    local exp = os.time() + 3600
    assert.equal("file", c._core:store_token(emu.ACCESS_TOKEN, exp, e.url .. "/"))
    assert.equal(("zlock-token 1\n%.3f\n%s\n%s\n"):format(exp, e.url, emu.ACCESS_TOKEN), entry(c))
    assert.equal(e.url, c:info().api_domain)             -- installed in the client too
    assert.equal(emu.ACCESS_TOKEN, (c._core:token()))
    c:close()
    local other = client()                               -- api domain: the dc's default until it reads the entry
    assert.truthy(other:get("Deals", id))
    assert.equal(0, minted())
    assert.equal(0, other:info().refreshes)
    other:close()
  end)

  it("the domain rule: with a fixed api_domain the entry names no domain and the given one is ignored", function()
    local c = client{ api_domain = e.url }
    assert.equal("file", c._core:store_token(emu.ACCESS_TOKEN, os.time() + 3600, "https://www.zohoapis.eu"))
    assert.matches("^zlock%-token 1\n[%d.]+\n\n", entry(c))
    assert.equal(e.url, c:info().api_domain)
    c:close()
    local s = client{ env = "sandbox", dc = "eu" }
    assert.equal("file", s._core:store_token(emu.ACCESS_TOKEN, 0, e.url))
    assert.matches("^zlock%-token 1\n0%.000\n\n", entry(s))
    assert.equal("https://sandbox.zohoapis.eu", s:info().api_domain)
    s:close()
  end)

  it("token_store none: nothing written, false returned, the token installed", function()
    local c = client{ token_store = "none", api_domain = e.url }
    assert.is_false(c._core:store_token(emu.ACCESS_TOKEN, os.time() + 3600, e.url))
    assert.is_nil(io.open(dir))
    assert.truthy(c:get("Deals", id))
    assert.equal(0, minted())
    c:close()
  end)

  it("takes the store's refresh lock: a holder delays the save until it lets go", function()
    local c = client()
    local lock = dir .. "/" .. c._core:token_store_key() .. ".lock"
    os.execute("mkdir -p -m 700 " .. q(dir) .. " && touch " .. q(lock))
    local h = io.popen("flock -x " .. q(lock) .. " -c 'echo held; sleep 1'")
    assert.equal("held", h:read("*l"))
    local socket = require "socket"
    local t0 = socket.gettime()
    assert.equal("file", c._core:store_token(emu.ACCESS_TOKEN, os.time() + 3600, e.url))
    local waited = socket.gettime() - t0
    h:close()
    assert.is_true(waited > 0.5, "saved while another held the lock (" .. waited .. " s)")
    assert.truthy(entry(c))
    c:close()
  end)

  it("refuses bad input with no secret in the error, and writes nothing", function()
    local c = client()
    local bad = {
      { "1000.abc\r\nX-Injected: 1", 0 }, { "1000.abc\0def", 0 }, { "", 0 }, { ("x"):rep(1024), 0 },
      { "1000.fine", -1 }, { "1000.fine", 0 / 0 }, { "1000.fine", math.huge },
      { "1000.fine", 0, "ftp://example.com" }, { "1000.fine", 0, "http://example.com" },
      { "1000.fine", 0, "https://example.com/path" }, { "1000.fine", 0, "https://exa\nmple.com" },
      { "1000.fine", 0, "https://example.com\0.evil" }, { "1000.fine", 0, "https://" .. ("a"):rep(300) .. ".com" },
    }
    for i, b in ipairs(bad) do
      local ok, err = c._core:store_token(b[1], b[2], b[3])
      assert.is_nil(ok, "case " .. i)
      assert.equal("INVALID_ARGUMENT", err.code, "case " .. i)
      local text = tostring(err.message)
      for _, s in ipairs{ "1000.abc", "1000.fine", emu.REFRESH_TOKEN, emu.CLIENT_SECRET } do
        assert.falsy(text:find(s, 1, true), "case " .. i .. ": " .. text)
      end
    end
    assert.is_nil(io.open(dir))
    assert.is_nil((c._core:token()))                     -- nothing installed either
    c:close()
  end)

  it("a store that fails: nil and a TRANSPORT error naming the store, no secret; the token still installed", function()
    local parent = dir:match("^(.*)/cache$")
    assert(io.open(dir, "w")):close()                    -- a file where the directory should be
    local c = client{ token_cache_dir = dir .. "/zlock", api_domain = e.url }
    local ok, err = c._core:store_token(emu.ACCESS_TOKEN, os.time() + 3600, e.url)
    assert.is_nil(ok)
    assert.equal("TRANSPORT", err.code)
    assert.matches("^file token store: lock: cannot create " .. (parent .. "/cache/zlock"):gsub("%p", "%%%0"),
      err.message)
    for _, s in ipairs{ emu.ACCESS_TOKEN, emu.REFRESH_TOKEN, emu.CLIENT_SECRET } do
      assert.falsy(err.message:find(s, 1, true))
    end
    assert.truthy(c:get("Deals", id))
    assert.equal(0, minted())
    c:close()
  end)
end)
