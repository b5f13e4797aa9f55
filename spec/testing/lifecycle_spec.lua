-- zlock.testing.emulator: start, the admin calls, a client on it, and every way it stops
-- (stop(), garbage collection, the end of the process that started it, even by kill -9).
local testing = require "zlock.testing"

local S = require "bulk.support"

describe("zlock.testing.emulator", function()
  it("starts on a loopback port with the demo org and answers through a zlock client", function()
    local emu = testing.emulator()
    finally(function() emu:stop() end)
    assert.matches("^http://127%.0%.0%.1:%d+$", emu.url)
    assert.is_true(S.alive(emu.pid))
    local st = emu:state()
    assert.equals(240, st.counts.Deals.records)
    local id
    for rid, locked in pairs(st.records.Deals) do
      if not locked then id = rid break end
    end
    local c = emu:client()
    local lock = assert(c:lock("Deals", id, "from the lifecycle spec"))
    c:close()
    assert.locked(emu, "Deals", id, "from the lifecycle spec")
    assert.equals(1, #testing.locks_by_record(emu:state("Deals"))[id])
    assert.equals(lock.id, testing.locks_by_record(emu:state("Deals"))[id][1].lock_id)
    assert.is_true(emu:stats().total >= 1)
    emu:reset()
    assert.is_not.locked(emu, "Deals", id)
  end)

  it("passes faults and limits to the emulator, at start and at run time", function()
    local emu = testing.emulator{ seed = "empty", records = { Deals = 7 }, latency = 5, concurrency_limit = 3,
                                  fail_rate = 0.25, drop_rate = 0.125, random_seed = 42 }
    finally(function() emu:stop() end)
    local f = emu:faults{}
    assert.equals(5, f.latency_ms)
    assert.equals(3, f.concurrency_limit)
    assert.equals(0.25, f.fail_rate)
    assert.equals(0.125, f.drop_rate)
    assert.equals(7, emu:state().counts.Deals.records)
    assert.equals(0, emu:faults{ fail_rate = 0 }.fail_rate)
  end)

  it("stop() ends the process and is idempotent; admin calls after it raise", function()
    local emu = testing.emulator{ seed = "empty" }
    local pid = emu.pid
    emu:stop()
    assert.is_false(S.alive(pid))
    assert.is_false(emu:running())
    assert.is_nil(emu:stop())
    assert.has_error(function() emu:state() end, "the emulator is stopped")
  end)

  it("is stopped when the emulator object is garbage collected", function()
    local pid
    do
      local emu = testing.emulator{ seed = "empty" }
      pid = emu.pid
      assert.is_true(S.alive(pid))
    end
    collectgarbage()
    collectgarbage()
    assert.is_true(S.wait_for(function() return not S.alive(pid) end, 5),
      "zlock-emu " .. pid .. " still runs after its object was collected")
  end)

  it("refuses an unknown option before starting anything", function()
    assert.has_error(function() testing.emulator{ seeed = "demo" } end,
      "zlock.testing.emulator: unknown option 'seeed'")
  end)

  it("says why it cannot start: a fixture file that does not exist, a bin that is no program", function()
    for _, case in ipairs{
      { { seed = "/nonexistent/org.json" }, "zlock%-emu did not start: .*/nonexistent/org.json" },
      { { bin = "/nonexistent/zlock-emu" }, "/nonexistent/zlock%-emu %(the bin option%) is not an executable file" },
    } do
      local ok, err = pcall(testing.emulator, case[1])
      assert.is_false(ok)
      assert.matches(case[2], err)
    end
  end)

  it("says where it looked, and how to get it, when zlock-emu is nowhere", function()
    local dir = S.tmpdir()
    finally(function() os.execute("rm -rf " .. S.quote(dir)) end)
    -- the Lua modules alone, outside a checkout and a LuaRocks tree; no zlock-emu on PATH
    assert(os.execute(("cp -r lua %s/"):format(S.quote(dir))))
    local cmd = "cd %s && env -u ZLOCK_EMU PATH=/nonexistent LUA_PATH='lua/?.lua;lua/?/init.lua;;' " ..
      "\"$(command -v lua5.4)\" -e 'print(select(2, require(\"zlock.testing.emulator\").find()))' 2>&1"
    local p = io.popen(cmd:format(S.quote(dir)))
    local out = p:read("*a")
    p:close()
    assert.matches("zlock-emu not found (looked at ZLOCK_EMU (unset), ", out, 1, true)
    assert.matches("PATH)", out, 1, true)
    assert.matches("apt-get install libmicrohttpd-dev libjansson-dev", out, 1, true)
  end)
end)
