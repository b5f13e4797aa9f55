-- zlock-emu's token endpoint: the 15-live-tokens rule, tokens counted per refresh token in
-- /__emu/stats, and the authorization_code grant (a self client's grant code).
local emu = require "helpers.emu"
local cjson = require "cjson.safe"

describe("zlock-emu token endpoint", function()
  local e
  lazy_setup(function() e = emu.start{ "--seed", "demo" } end)
  lazy_teardown(function() e:stop() end)
  before_each(function() e:reset() end)

  local function token_req(q)
    local res = assert(e:req("POST", "/oauth/v2/token?" .. q, { token = false }))
    return cjson.decode(res.body)
  end
  local function refresh()
    return token_req("grant_type=refresh_token&client_id=" .. emu.CLIENT_ID .. "&client_secret="
      .. emu.CLIENT_SECRET .. "&refresh_token=" .. emu.REFRESH_TOKEN)
  end
  local function works(tok)
    local id = e:state().locks[1].record_id
    local path = "/crm/v8/Deals/" .. id .. "/Locking_Information__s?fields=Locked_For__s"
    return e:req("GET", path, { token = tok }).status
  end
  local function per_rt() return e:stats().tokens_by_refresh_token["...-token"] end

  it("counts tokens minted and live per refresh token", function()
    refresh(); refresh()
    assert.same({ minted = 2, live = 2 }, per_rt())
    local s = e:stats()
    assert.equal(2, s.tokens_minted)
    assert.falsy(cjson.encode(s):find(emu.REFRESH_TOKEN, 1, true))   -- never the whole secret
  end)

  it("the 16th live token invalidates the oldest (401 on it)", function()
    e:faults{ mint_limit = 20 }
    local toks = {}
    for i = 1, 15 do toks[i] = assert(refresh().access_token) end
    assert.equal(200, works(toks[1]))
    assert.same({ minted = 15, live = 15 }, per_rt())
    toks[16] = assert(refresh().access_token)
    assert.equal(401, works(toks[1]))
    assert.equal(200, works(toks[2]))
    assert.equal(200, works(toks[16]))
    assert.same({ minted = 16, live = 15 }, per_rt())
  end)

  it("keeps Zoho's 10 per 10 minutes by default", function()
    for _ = 1, 10 do assert.truthy(refresh().access_token) end
    assert.equal("Access Denied", refresh().error)
  end)

  it("exchanges the demo grant code once for the refresh token", function()
    local q = "grant_type=authorization_code&client_id=" .. emu.CLIENT_ID .. "&client_secret="
      .. emu.CLIENT_SECRET .. "&code=1000.zlockemu.demo-grant-code"
    local r = token_req(q)
    assert.equal(emu.REFRESH_TOKEN, r.refresh_token)
    assert.equal(200, works(r.access_token))
    assert.equal(e.url, r.api_domain)
    assert.equal("invalid_code", token_req(q).error)          -- a grant code is single-use
    assert.equal("invalid_code", token_req(q:gsub("demo%-grant%-code", "other")).error)
  end)
end)
