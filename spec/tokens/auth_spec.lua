-- `zlock auth`: a grant code exchanged against zlock-emu's token endpoint, saved as a profile
-- (0600 in 0700), then `zlock --profile NAME get` works with nothing else set; `auth status`
-- shows no secret. (auth_store_spec.lua: the exchange's access token cached for the profile.)
local emu = require "helpers.emu"
local procs = require "helpers.procs"

describe("zlock auth", function()
  local e, home, id
  local CODE = "1000.zlockemu.demo-grant-code"
  lazy_setup(function()
    e = emu.start{ "--seed", "demo" }
    id = e:state().locks[1].record_id
  end)
  lazy_teardown(function() e:stop() end)
  before_each(function() e:reset(); home = procs.tmpdir() end)
  after_each(function() procs.rm(home) end)

  -- zlock with only PATH and HOME (plus `extra`) in its environment
  local function zlock(args, extra, stdin)
    local env = "env -i PATH=\"$PATH\" HOME=" .. procs.quote(home)
    for k, v in pairs(extra or {}) do env = env .. " " .. k .. "=" .. procs.quote(v) end
    local cmd = env .. " " .. procs.quote(procs.ZLOCK) .. " " .. args
    if stdin then cmd = "printf '%s\\n' " .. procs.quote(stdin) .. " | " .. cmd end
    return procs.sh(cmd)
  end
  local function login(profile, more)
    return zlock("auth --profile " .. profile .. " --accounts-domain " .. e.url .. " --client-id "
      .. emu.CLIENT_ID .. " --client-secret " .. emu.CLIENT_SECRET .. (more or ""), nil, CODE)
  end

  it("saves the profile from a grant code; a later --profile get needs nothing else", function()
    local out, rc = login("emu")
    assert.equal(0, rc, out)
    assert.matches("saved profile emu", out)
    assert.falsy(out:find(emu.CLIENT_SECRET, 1, true))
    assert.falsy(out:find(emu.REFRESH_TOKEN, 1, true))
    local dir = home .. "/.config/zlock"
    assert.equal("700", (procs.sh("stat -c %a " .. procs.quote(dir))):match("%d+"))
    assert.equal("600", (procs.sh("stat -c %a " .. procs.quote(dir .. "/credentials"))):match("%d+"))
    local f = assert(io.open(dir .. "/credentials")); local text = f:read("*a"); f:close()
    assert.matches("%[emu%]", text)
    assert.truthy(text:find("refresh_token = " .. emu.REFRESH_TOKEN, 1, true))
    out, rc = zlock("--profile emu --json get Deals " .. id)
    assert.equal(0, rc, out)
    assert.matches(id, out)
    out, rc = zlock("get Deals " .. id, { ZLOCK_PROFILE = "emu" })
    assert.equal(0, rc, out)
  end)

  it("auth status shows profile, dc, env and token expiry, never a secret", function()
    assert.equal(0, select(2, login("sbx", " --env sandbox --dc eu")))
    local out, rc = zlock("auth status --profile sbx")
    assert.equal(0, rc, out)
    assert.matches("sbx", out)
    assert.matches("eu / sandbox", out)
    assert.matches("https://sandbox%.zohoapis%.eu", out)   -- the domain rule: env wins
    assert.matches("token store%s+file", out)
    assert.matches("access token%s+[%d-]+ [%d:]+ UTC %(in %d+ min%)", out)   -- the exchange's, cached by auth
    for _, s in ipairs{ emu.CLIENT_SECRET, emu.REFRESH_TOKEN, emu.CLIENT_ID } do
      assert.falsy(out:find(s, 1, true), "status shows a secret")
    end
  end)

  it("a used or wrong grant code fails loud and writes nothing", function()
    assert.equal(0, select(2, login("one")))
    local out, rc = login("two")
    assert.equal(1, rc)
    assert.matches("invalid_code", out)
    assert.falsy(out:find(emu.CLIENT_SECRET, 1, true))
    assert.falsy(out:find(CODE, 1, true))
    local f = assert(io.open(home .. "/.config/zlock/credentials")); local text = f:read("*a"); f:close()
    assert.falsy(text:find("[two]", 1, true))
    out, rc = zlock("--profile two get Deals " .. id)
    assert.equal(2, rc)
    assert.matches("no profile 'two'", out)
  end)

  it("profiles accumulate; the default profile is used when the environment has no credentials", function()
    assert.equal(0, select(2, login("default")))
    e:reset()                                  -- the demo code is single-use per reset
    assert.equal(0, select(2, login("other")))
    local f = assert(io.open(home .. "/.config/zlock/credentials")); local text = f:read("*a"); f:close()
    assert.truthy(text:find("[default]", 1, true) and text:find("[other]", 1, true))
    local out, rc = zlock("get Deals " .. id)
    assert.equal(0, rc, out)
  end)
end)
