-- zlock inside a cqueues controller (lua-http on cqueues, LuaJIT: Debian packages lua-http
-- for Lua 5.1 and LuaJIT): calls in many coroutines run together and never stall the loop.
-- The same burst through a libcurl client (blocking) is the control that shows the
-- measurement can tell the two apart. Ratios measured in the same run.
local emu = require "helpers.emu"
local web = require "helpers.web"
local cjson = require "cjson"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function scenario(e, transport, ids)
  local cmd = "LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' LUA_CPATH='build/luajit/?.so;;' luajit " ..
    "spec/hosts/cqueues_scenario.lua " .. q(e.url) .. " " .. q(emu.ACCESS_TOKEN) .. " " .. transport
  for _, id in ipairs(ids) do cmd = cmd .. " " .. id end
  local p = assert(io.popen(cmd .. " 2>&1", "r"))
  local text = p:read("*a")
  p:close()
  local out = cjson.decode(text:match("{.*}") or "null")
  assert(type(out) == "table", "scenario failed: " .. text)
  return out
end

describe("cqueues transport", function()
  local e

  lazy_setup(function() e = emu.start{ "--seed", "demo", "--latency", "300" } end)
  lazy_teardown(function() if e then e:stop() end end)

  it("runs 20 calls in 20 coroutines in under 2x the time of one; a ticker is never 50 ms late", function()
    local ids = web.unlocked_deals(e, 21)
    local r = scenario(e, "auto", ids)
    assert.equal("cqueues", r.transport, "zlock.new did not pick the cqueues transport inside a controller")
    assert.same({}, r.errors)
    local ratio = r.many_s / r.one_s
    print(string.format("\n[cqueues] one lock %.0f ms, 20 in coroutines %.0f ms, ratio %.2f (limit 2); " ..
                        "ticker at most %.1f ms late (limit 50)", r.one_s * 1000, r.many_s * 1000, ratio, r.late_ms))
    assert.is_true(ratio < 2, string.format("ratio %.2f", ratio))
    assert.is_true(r.late_ms < 50, string.format("ticker %.1f ms late", r.late_ms))
    for _, id in ipairs(ids) do assert.truthy(web.emu_lock(e, id), "no lock on " .. id) end
  end)

  it("control: the same burst on libcurl blocks the loop", function()
    local ids = web.unlocked_deals(e, 6)
    local r = scenario(e, "curl", ids)
    assert.equal("curl", r.transport)
    assert.same({}, r.errors)
    print(string.format("[cqueues] control, libcurl: 5 calls %.0f ms (one %.0f ms), ticker %.0f ms late",
                        r.many_s * 1000, r.one_s * 1000, r.late_ms))
    assert.is_true(r.late_ms > 250, "a blocking call should have stalled the ticker")
    assert.is_true(r.many_s / r.one_s > 3)
  end)
end)
