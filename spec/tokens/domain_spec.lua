-- The domain rule: an explicit env (sandbox, developer) or api_domain wins over the
-- api_domain named by the token reply; the reply's domain is used only when neither was given.
-- The refresh goes to a real zlock-emu; API requests are recorded by a transport that sends
-- them only when they target the emulator (nothing leaves loopback).
local emu = require "helpers.emu"
local zlock = require "zlock"
local http = require "socket.http"
local ltn12 = require "ltn12"

describe("token reply's api_domain", function()
  local e
  lazy_setup(function() e = emu.start{ "--seed", "demo" } end)
  lazy_teardown(function() e:stop() end)

  -- A transport over LuaSocket that remembers every API URL and performs only loopback ones.
  local function recorder()
    local t = { urls = {} }
    function t.send(_, s)
      if not s.token_request then t.urls[#t.urls + 1] = s.url end
      if not s.url:match("^http://127%.0%.0%.1:") then return 0, "", "connect" end
      local out = {}
      local _, status = http.request{ url = s.url, method = s.method, headers = s.headers,
        source = s.body and ltn12.source.string(s.body), sink = ltn12.sink.table(out) }
      return status, table.concat(out)
    end
    return t
  end

  local function client(extra)
    local o = { accounts_domain = e.url, client_id = emu.CLIENT_ID, client_secret = emu.CLIENT_SECRET,
      refresh_token = emu.REFRESH_TOKEN, token_store = "none", retries = { max_attempts = 1 } }
    for k, v in pairs(extra) do o[k] = v end
    local tr = recorder()
    o.transport = tr
    return assert(zlock.new(o)), tr
  end

  it("an explicit env = sandbox keeps the sandbox API host after a refresh", function()
    local c, tr = client{ dc = "eu", env = "sandbox" }
    c:get("Deals", "123")
    assert.equal("https://sandbox.zohoapis.eu", c:info().api_domain)
    assert.matches("^https://sandbox%.zohoapis%.eu/crm/", tr.urls[1])
  end)

  it("an explicit env = developer keeps the developer API host", function()
    local c, tr = client{ env = "developer" }
    c:get("Deals", "123")
    assert.equal("https://developer.zohoapis.com", c:info().api_domain)
    assert.matches("^https://developer%.zohoapis%.com/", tr.urls[1])
  end)

  it("an explicit api_domain wins over the reply's", function()
    local c, tr = client{ api_domain = "https://www.zohoapis.in" }
    c:get("Deals", "123")
    assert.equal("https://www.zohoapis.in", c:info().api_domain)
    assert.matches("^https://www%.zohoapis%.in/", tr.urls[1])
  end)

  it("with neither, the reply's api_domain is used (here: the emulator)", function()
    local c, tr = client{ dc = "eu" }
    local res, err = c:get("Deals", "1")
    assert.equal(e.url, c:info().api_domain)
    assert.matches("^" .. e.url:gsub("%p", "%%%0") .. "/crm/", tr.urls[1])
    assert.is_nil(err and err.code == "TOKEN" and err or nil)
    assert.is_not_nil(res or err)
  end)
end)
