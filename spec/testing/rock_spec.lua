-- A user's view: zlock installed by `luarocks make` into a fresh tree (zlock-emu included),
-- examples/spec and the example policies copied outside the repository, plain `busted` run
-- there with only that tree for zlock. The specs pass; against a policy with a wrong age
-- threshold they fail. Without libmicrohttpd/jansson the install carries a zlock-emu that says
-- what is missing, and zlock.testing shows that message.
local S = require "bulk.support"
local tmpdir = S.tmpdir

local ROOT = os.getenv("PWD")

local q = S.quote

local sh = S.sh

-- A temporary directory removed when the test ends.
local function scratch()
  local d = tmpdir()
  finally(function() os.execute("rm -rf " .. q(d)) end)
  return d
end

describe("zlock installed as a rock", function()
  local tree, work, env
  lazy_setup(function()
    tree, work = tmpdir(), tmpdir()
    local code, out = sh(("cd %s && luarocks --lua-version=5.4 --tree=%s make --deps-mode=none zlock-scm-1.rockspec")
      :format(q(ROOT), q(tree)))
    assert(code == 0, "luarocks make failed:\n" .. out)
    local copy = "mkdir -p %s/examples/spec && cp %s/examples/*.lua %s/examples/ && "
      .. "cp %s/examples/spec/*.lua %s/examples/spec/"
    assert(os.execute(copy:format(q(work), q(ROOT), q(work), q(ROOT), q(work))))
    -- only the tree for zlock (busted, luassert and lua-cjson come from the system, as for a user)
    env = ("env -u ZLOCK_EMU LUA_PATH=%s LUA_CPATH=%s"):format(
      q(tree .. "/share/lua/5.4/?.lua;" .. tree .. "/share/lua/5.4/?/init.lua;;"), q(tree .. "/lib/lua/5.4/?.so;;"))
  end)
  lazy_teardown(function()
    if tree then os.execute("rm -rf " .. q(tree) .. " " .. q(work)) end
  end)

  it("installs zlock-emu next to zlock, and zlock.testing finds it there", function()
    local code, out = sh(("cd %s && %s lua5.4 -e %s"):format(q(work), env,
      q("print(require('zlock.testing.emulator').find())")))
    assert.equals(0, code, out)
    assert.equals(tree .. "/share/lua/5.4/zlock/testing/../../../../../bin/zlock-emu", (out:gsub("%s+$", "")))
    local h = io.open(tree .. "/bin/zlock-emu", "rb")
    assert.equals("\127ELF", h:read(4))
    h:close()
  end)

  it("runs examples/spec with plain busted outside the repository: they pass", function()
    local code, out = sh(("cd %s && %s busted --lua=lua5.4 -o TAP examples/spec"):format(q(work), env))
    assert.equals(0, code, out)
    assert.matches("ok %d+ %- lock_closed_lost.lua", out)
    assert.not_matches("not ok", out)
  end)

  it("the same specs fail against a policy with a wrong age threshold", function()
    local broken = scratch()
    assert(os.execute(("cp -r %s/examples %s/"):format(q(work), q(broken))))
    local path = broken .. "/examples/lock_closed_lost.lua"
    local f = assert(io.open(path, "rb"))
    local src = f:read("*a")
    f:close()
    local bad, n = src:gsub("return age > ctx%.params%.days,", "return age > ctx.params.days + 20,")
    assert.equals(1, n, "the example's age test moved: update this spec")
    f = assert(io.open(path, "wb"))
    f:write(bad)
    f:close()
    local code, out = sh(("cd %s && %s busted --lua=lua5.4 -o TAP examples/spec/lock_closed_lost_spec.lua")
      :format(q(broken), env))
    assert.not_equals(0, code)
    assert.matches("not ok %d+ %- lock_closed_lost.lua plans exactly", out)
    assert.matches("not ok %d+ %- lock_closed_lost.lua locks exactly those", out)
  end)

  it("without libmicrohttpd/jansson, installs a zlock-emu whose message zlock.testing shows", function()
    local build = scratch()
    local code, out = sh(("make -s -C %s BUILD=%s EMU_PKGS=libmissing-for-this-spec %s/rock-bin/zlock-emu")
      :format(q(ROOT), q(build), q(build)))
    assert.equals(0, code, out)
    assert.matches("WARNING: zlock%-emu was not built", out)
    local testing = require "zlock.testing"
    local ok, err = pcall(testing.emulator, { bin = build .. "/rock-bin/zlock-emu" })
    assert.is_false(ok)
    assert.matches("zlock%-emu did not start: zlock%-emu was not built: the development files of " ..
      "libmicrohttpd and jansson were not found", err)
  end)
end)
