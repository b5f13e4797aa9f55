-- Black-box spec: zlock-emu's OAuth token endpoint answers like accounts.zoho.* (facts
-- file section 4): refresh_token and client_credentials grants, form or query parameters,
-- errors as HTTP 200 {"error":...}, 10 tokens per refresh token per 10 minutes, expiry.
local emu = require "helpers.emu"
local shape = require "helpers.zoho_shape"
local org = require "helpers.emu_org"
local socket = require "socket"

local function form(t)
  local parts = {}
  for _, kv in ipairs(t) do
    parts[#parts + 1] = kv[1] .. "=" .. tostring(kv[2]):gsub("[^%w%-%._~]",
      function(c) return ("%%%02X"):format(c:byte()) end)
  end
  return table.concat(parts, "&")
end

local function refresh_params(over)
  over = over or {}
  return {
    { "grant_type", "refresh_token" },
    { "client_id", over.client_id or emu.CLIENT_ID },
    { "client_secret", over.client_secret or emu.CLIENT_SECRET },
    { "refresh_token", over.refresh_token or emu.REFRESH_TOKEN },
  }
end

local function token_form(e, params)
  return e:req("POST", "/oauth/v2/token", { token = false, body = form(params),
    content_type = "application/x-www-form-urlencoded" })
end

local function token_query(e, params)
  return e:req("POST", "/oauth/v2/token?" .. form(params), { token = false })
end

-- a Zoho API call made with `token`; returns the response
local function api_call(e, token)
  return e:req("GET", "/crm/v8/users?type=CurrentUser", { token = token })
end

local function tokens_minted(e)
  local s = e:stats()
  local v = s.tokens_minted
  assert.is_number(v, "stats.tokens_minted")
  return v
end

describe("zlock-emu OAuth", function()
  describe("grants", function()
    local e
    lazy_setup(function() e = emu.start{ "--seed", "demo" } end)
    lazy_teardown(function() if e then e:stop() end end)

    it("refresh_token grant with form parameters: 200 access_token, expires_in, api_domain, token_type", function()
      local res = token_form(e, refresh_params())
      shape.status(res, 200, "token")
      local t = res.json
      assert.is_string(t.access_token)
      assert.are_not.equal(emu.ACCESS_TOKEN, t.access_token, "a freshly minted token")
      assert.are.equal(3600, t.expires_in)
      assert.is_string(t.api_domain)
      assert.are.equal(e.url, t.api_domain, "api_domain must send clients back to the emulator")
      assert.are.equal("Bearer", t.token_type)
      assert.is_nil(t.error)
    end)

    it("the minted token is accepted by the CRM API", function()
      local t = token_form(e, refresh_params()).json.access_token
      shape.status(api_call(e, t), 200, "API call with the minted token")
    end)

    it("refresh_token grant with query parameters works too", function()
      local res = token_query(e, refresh_params())
      shape.status(res, 200, "token via query")
      assert.is_string(res.json.access_token)
      shape.status(api_call(e, res.json.access_token), 200, "API call")
    end)

    it("every mint gives a different token", function()
      local a = token_form(e, refresh_params()).json.access_token
      local b = token_form(e, refresh_params()).json.access_token
      assert.are_not.equal(a, b)
    end)

    it("client_credentials grant: 200 with an access token (no refresh token)", function()
      local res = token_form(e, {
        { "grant_type", "client_credentials" }, { "client_id", emu.CLIENT_ID },
        { "client_secret", emu.CLIENT_SECRET }, { "scope", "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL" },
        { "soid", "ZohoCRM.1000" } })
      shape.status(res, 200, "client_credentials")
      assert.is_string(res.json.access_token)
      assert.is_nil(res.json.refresh_token)
      assert.is_number(res.json.expires_in)
      shape.status(api_call(e, res.json.access_token), 200, "API call with the client_credentials token")
    end)

    it("wrong client secret: HTTP 200 {\"error\":\"invalid_client\"}", function()
      local res = token_form(e, refresh_params{ client_secret = "wrong" })
      shape.status(res, 200, "token with a bad secret")
      assert.are.equal("invalid_client", res.json.error)
      assert.is_nil(res.json.access_token)
    end)

    it("unknown client id: HTTP 200 {\"error\":\"invalid_client\"}", function()
      local res = token_form(e, refresh_params{ client_id = "1000.UNKNOWNCLIENT" })
      shape.status(res, 200, "token with an unknown client")
      assert.are.equal("invalid_client", res.json.error)
    end)

    it("unknown refresh token: HTTP 200 {\"error\":\"invalid_code\"}", function()
      local res = token_form(e, refresh_params{ refresh_token = "1000.not-a-refresh-token" })
      shape.status(res, 200, "token with a bad refresh token")
      assert.are.equal("invalid_code", res.json.error)
      assert.is_nil(res.json.access_token)
    end)

    it("counts minted tokens in /__emu/stats", function()
      local before = tokens_minted(e)
      token_form(e, refresh_params())
      token_query(e, refresh_params())
      token_form(e, refresh_params{ client_secret = "wrong" }) -- refused: not minted
      assert.are.equal(before + 2, tokens_minted(e))
    end)

    it("never writes the client secret, refresh token or a minted token to its stderr", function()
      local t = token_form(e, refresh_params()).json.access_token
      token_form(e, refresh_params{ client_secret = "wrong" })
      local log = e:stderr()
      assert.falsy(log:find(emu.CLIENT_SECRET, 1, true), "client secret in stderr")
      assert.falsy(log:find(emu.REFRESH_TOKEN, 1, true), "refresh token in stderr")
      assert.falsy(log:find(t, 1, true), "access token in stderr")
    end)
  end)

  describe("revoked tokens", function()
    local e
    lazy_setup(function() e = emu.start{ "--seed", "demo" } end)
    lazy_teardown(function() if e then e:stop() end end)

    it("revoke_tokens turns the static and minted tokens into 401 INVALID_TOKEN until reset", function()
      local t = token_form(e, refresh_params()).json.access_token
      e:faults{ revoke_tokens = true }
      shape.top_error(api_call(e, emu.ACCESS_TOKEN), { status = 401, code = "INVALID_TOKEN", what = "static" })
      shape.top_error(api_call(e, t), { status = 401, code = "INVALID_TOKEN", what = "minted" })
      local t2 = token_form(e, refresh_params()).json.access_token
      shape.status(api_call(e, t2), 200, "a token minted after the revocation")
      e:reset()
      shape.status(api_call(e, emu.ACCESS_TOKEN), 200, "static token after reset")
    end)
  end)

  describe("throttling", function()
    local e
    lazy_setup(function() e = emu.start{ "--seed", "demo" } end)
    lazy_teardown(function() if e then e:stop() end end)

    it("the 11th token from one refresh token in 10 minutes gets Access Denied", function()
      for i = 1, 10 do
        local res = token_form(e, refresh_params())
        shape.status(res, 200, "mint " .. i)
        assert.is_string(res.json.access_token, "mint " .. i .. ": " .. res.body)
      end
      local res = token_form(e, refresh_params())
      shape.status(res, 200, "mint 11")
      assert.are.equal("Access Denied", res.json.error)
      assert.truthy(tostring(res.json.error_description):find("^You have made too many requests continuously"),
        "Zoho's description: " .. res.body)
      assert.is_nil(res.json.access_token)
      assert.are.equal(10, tokens_minted(e))
    end)
  end)

  describe("expiry (--token-ttl 1)", function()
    local e
    lazy_setup(function() e = emu.start{ "--seed", "demo", "--token-ttl", "1" } end)
    lazy_teardown(function() if e then e:stop() end end)

    it("says expires_in 1, refuses the token with 401 INVALID_TOKEN once expired, and a new one works", function()
      local res = token_form(e, refresh_params())
      shape.status(res, 200, "mint")
      assert.are.equal(1, res.json.expires_in)
      local t = res.json.access_token
      shape.status(api_call(e, t), 200, "fresh token")
      socket.sleep(2.2)
      shape.top_error(api_call(e, t), { status = 401, code = "INVALID_TOKEN", message = "invalid oauth token" })
      local t2 = token_form(e, refresh_params()).json.access_token
      shape.status(api_call(e, t2), 200, "new token")
    end)

    it("an expired token cannot lock", function()
      local t = token_form(e, refresh_params()).json.access_token
      local id = org.fresh(e, "Deals")
      socket.sleep(2.2)
      local res = e:req("POST", "/crm/v8/Deals/" .. id .. "/Locking_Information__s",
        { token = t, body = { data = { { Locked_Reason__s = "late" } } } })
      shape.top_error(res, { status = 401, code = "INVALID_TOKEN" })
      assert.are.equal(0, #org.locks(e, "Deals", id))
    end)
  end)
end)
