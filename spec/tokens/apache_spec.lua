-- Apache mod_lua (examples/apache: a zlock client per Lua state, request threads of several
-- processes) on the refresh flow: 16 concurrent requests mint one token, through the file store.
local emu = require "helpers.emu"
local web = require "helpers.web"
local procs = require "helpers.procs"
local ap = require "hosts.apache_support"

describe("Apache mod_lua on the refresh flow", function()
  local e, a, cache

  lazy_setup(function()
    e = emu.start{ "--seed", "demo", "--latency", "100" }
    cache = procs.tmpdir()
    os.execute("chmod 777 " .. procs.quote(cache))   -- Apache's user (www-data) creates zlock/ in it
    a = ap.start{ env = { ZOHO_ACCOUNTS_DOMAIN = e.url, ZOHO_CLIENT_ID = emu.CLIENT_ID,
      ZOHO_CLIENT_SECRET = emu.CLIENT_SECRET, ZOHO_REFRESH_TOKEN = emu.REFRESH_TOKEN, XDG_CACHE_HOME = cache } }
  end)

  lazy_teardown(function()
    if a then a:stop() end
    if e then e:stop() end
    if cache then procs.rm(cache) end
  end)

  it("16 concurrent requests: every one served, one token minted", function()
    local ids = web.unlocked_deals(e, 16)
    local reqs = {}
    for i, id in ipairs(ids) do reqs[i] = { method = "GET", path = "/deals/" .. id .. "/lock" } end
    local res = a:parallel(reqs)
    for i = 1, 16 do
      assert.is_true(res[i].status == 200 or res[i].status == 404, "request " .. i .. ": " .. tostring(res[i].status)
        .. " " .. tostring(res[i].body))
    end
    assert.is_true(e:stats().max_in_flight >= 4, "the request threads did not call in parallel")
    assert.equal(1, e:stats().tokens_minted)
    assert.matches("%x+%.token", (procs.sh("ls " .. procs.quote(cache .. "/zlock"))))
  end)
end)
