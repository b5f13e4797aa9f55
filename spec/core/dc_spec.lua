-- Zoho data centres (README, "Data centres"): `dc` and `env` pick the accounts and API
-- domains, read back through c:info() without sending anything. The checks run in a child
-- interpreter inside an empty network namespace (`unshare -n`, when available) so that even a
-- zlock bug could not send traffic to Zoho.
local support = require "core.support"
local cjson = require "cjson"

local DCS = {
  us = { "accounts.zoho.com", "zohoapis.com" },
  eu = { "accounts.zoho.eu", "zohoapis.eu" },
  ["in"] = { "accounts.zoho.in", "zohoapis.in" },
  au = { "accounts.zoho.com.au", "zohoapis.com.au" },
  jp = { "accounts.zoho.jp", "zohoapis.jp" },
  cn = { "accounts.zoho.com.cn", "zohoapis.com.cn" },
  ca = { "accounts.zohocloud.ca", "zohoapis.ca" },
  sa = { "accounts.zoho.sa", "zohoapis.sa" },
}

local ISOLATE
local function isolated()
  if ISOLATE == nil then
    ISOLATE = os.execute("unshare -n true >/dev/null 2>&1")
    ISOLATE = (ISOLATE == true or ISOLATE == 0) and "unshare -n" or ""
  end
  return ISOLATE
end

--- Runs zlock.new(opts) for each opts in `list` in a network-less child; returns, per entry,
-- `{info = c:info()}` or `{err = tostring(err)}` (or `{raised = msg}`).
local function infos(list, env)
  local code = [[
    local cjson = require "cjson"
    local zlock = require "zlock"
    local out = {}
    for i, opts in ipairs(cjson.decode(]] .. ("%q"):format(cjson.encode(list)) .. [[)) do
      local ok, c, err = pcall(zlock.new, opts)
      if not ok then out[i] = { raised = tostring(c) }
      elseif not c then out[i] = { err = tostring(err) }
      else
        local info = c:info()
        out[i] = { info = { api_domain = info.api_domain, accounts_domain = info.accounts_domain,
                            api_version = info.api_version } }
        c:close()
      end
    end
    io.write("JSON:", cjson.encode(out), "\n")
  ]]
  local out = support.run_lua(code, env, isolated())
  local json = out:match("JSON:(.-)\n")
  assert(json, "child failed: " .. out)
  return cjson.decode(json)
end

describe("data centres", function()
  local names = {}
  for dc in pairs(DCS) do names[#names + 1] = dc end
  table.sort(names)

  it("each production dc resolves to its https accounts and API domains", function()
    local list = {}
    for i, dc in ipairs(names) do list[i] = { dc = dc, access_token = "1000.placeholder" } end
    local got = infos(list)
    for i, dc in ipairs(names) do
      local r = got[i]
      assert(r.info, dc .. ": " .. tostring(r.err or r.raised))
      assert.equals("https://" .. DCS[dc][1], r.info.accounts_domain, dc)
      assert.equals("https://www." .. DCS[dc][2], r.info.api_domain, dc)
      assert.equals("v8", r.info.api_version)
    end
  end)

  it("sandbox and developer orgs use sandbox.zohoapis.* / developer.zohoapis.*", function()
    local list = {}
    for _, dc in ipairs(names) do
      list[#list + 1] = { dc = dc, env = "sandbox", access_token = "1000.placeholder" }
      list[#list + 1] = { dc = dc, env = "developer", access_token = "1000.placeholder" }
    end
    local got = infos(list)
    local i = 0
    for _, dc in ipairs(names) do
      for _, env in ipairs{ "sandbox", "developer" } do
        i = i + 1
        local r = got[i]
        assert(r.info, dc .. "/" .. env .. ": " .. tostring(r.err or r.raised))
        assert.equals("https://" .. env .. "." .. DCS[dc][2], r.info.api_domain, dc .. "/" .. env)
        assert.equals("https://" .. DCS[dc][1], r.info.accounts_domain, dc .. "/" .. env)
      end
    end
  end)

  it("the default dc is us; explicit api_domain and accounts_domain win over dc", function()
    local got = infos{
      { access_token = "1000.placeholder" },
      { dc = "eu", api_domain = "https://crm.example.test", accounts_domain = "https://login.example.test",
        access_token = "1000.placeholder" },
      { dc = "jp", api_version = "v6", access_token = "1000.placeholder" },
    }
    assert.equals("https://www.zohoapis.com", got[1].info.api_domain)
    assert.equals("https://accounts.zoho.com", got[1].info.accounts_domain)
    assert.equals("https://crm.example.test", got[2].info.api_domain)
    assert.equals("https://login.example.test", got[2].info.accounts_domain)
    assert.equals("v6", got[3].info.api_version)
    assert.equals("https://www.zohoapis.jp", got[3].info.api_domain)
  end)

  it("an unknown dc or env, or an api version that is not v<digits>, is refused by zlock.new", function()
    local got = infos{
      { dc = "xx", access_token = "1000.placeholder" },
      { dc = "eu", env = "staging", access_token = "1000.placeholder" },
      { dc = "eu", api_version = "v8/../../oauth", access_token = "1000.placeholder" },
      { dc = "eu", api_version = "eight", access_token = "1000.placeholder" },
    }
    for i = 1, 4 do
      assert.is_nil(got[i].info, "accepted entry " .. i)
      assert.is_string(got[i].err or got[i].raised)
    end
  end)

  it("ZOHO_DC and ZOHO_ENV from the environment pick the default client's domains", function()
    local out = support.run_lua([[
      local zlock = require "zlock"
      local c = assert(zlock.default())
      local i = c:info()
      io.write("API=", i.api_domain, " ACC=", i.accounts_domain, "\n")
    ]], { ZOHO_DC = "au", ZOHO_ENV = "sandbox", ZOHO_ACCESS_TOKEN = "1000.placeholder" }, isolated())
    assert.matches("API=https://sandbox.zohoapis.com.au ACC=https://accounts.zoho.com.au", out, 1, true)
  end)

  it("the domains are https: a dc never yields plain http", function()
    local list = {}
    for i, dc in ipairs(names) do list[i] = { dc = dc, access_token = "1000.placeholder" } end
    for _, r in ipairs(infos(list)) do
      assert.matches("^https://", r.info.api_domain)
      assert.matches("^https://", r.info.accounts_domain)
    end
  end)
end)
