-- No emulator outlives the test that started it: not after an error inside a test that
-- never calls stop(), not after the test process is killed with SIGKILL.
local S = require "bulk.support"

local ROOT = os.getenv("PWD")
local ENV = ("LUA_PATH=%q LUA_CPATH=%q"):format(ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;;",
  ROOT .. "/build/lua5.4/?.so;;")

-- Whether process `pid` is gone within `seconds`.
local function gone(pid, seconds)
  return S.wait_for(function() return not S.alive(pid) end, seconds)
end

describe("an emulator started by a test", function()
  local dir
  before_each(function() dir = S.tmpdir() end)
  after_each(function() os.execute("rm -rf " .. S.quote(dir)) end)

  it("is gone when busted ends after an error inside the test that started it", function()
    S.write(dir .. "/boom_spec.lua", ([[
      local testing = require "zlock.testing"
      describe("a failing user spec", function()
        it("errors with an emulator running and never stops it", function()
          local emu = testing.emulator{ seed = "empty" }
          local f = assert(io.open(%q, "w")); f:write(emu.pid); f:close()
          error("boom inside the test")
        end)
      end)
    ]]):format(dir .. "/pid"))
    local p = io.popen(("cd %s && env %s busted --lua=lua5.4 -o TAP boom_spec.lua 2>&1"):format(dir, ENV))
    local out = p:read("*a")
    local _, _, code = p:close()
    assert.not_equals(0, code, "the user spec should fail")
    assert.matches("boom inside the test", out, 1, true)
    local pid = tonumber(S.slurp(dir .. "/pid"))
    assert.is_number(pid, out)
    assert.is_true(gone(pid, 5), "zlock-emu " .. tostring(pid) .. " outlived busted")
  end)

  it("is gone soon after the process that started it is killed with SIGKILL", function()
    S.write(dir .. "/hold.lua", [[
      local testing = require "zlock.testing"
      local emu = testing.emulator{ seed = "empty" }
      io.write(emu.pid, "\n"); io.flush()
      require("socket").sleep(60)
    ]])
    local p = io.popen(("cd %s && env %s lua5.4 hold.lua & echo $!"):format(dir, ENV))
    local lua_pid = tonumber(p:read("*l"))
    local emu_pid = tonumber(p:read("*l"))
    assert.is_number(emu_pid)
    assert.is_true(S.alive(emu_pid))
    os.execute("kill -KILL " .. lua_pid)
    p:close()
    assert.is_true(gone(emu_pid, 5), "zlock-emu " .. emu_pid .. " outlived its killed parent")
  end)
end)
