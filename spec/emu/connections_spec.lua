-- zlock-emu's HTTP side under hostile clients: thousands of idle connections do not lock out
-- new clients, --latency sleeps still overlap, and an encoded NUL never truncates a URL.
local emu = require "helpers.emu"
local shape = require "helpers.zoho_shape"
local org = require "helpers.emu_org"
local socket = require "socket"

local function fd_limit()
  local p = io.popen("ulimit -n")
  local n = p:read("*l")
  p:close()
  return n == "unlimited" and math.huge or tonumber(n) or 0
end

describe("zlock-emu connections", function()
  local e
  lazy_setup(function() e = emu.start{ "--seed", "demo" } end)
  lazy_teardown(function() if e then e:stop() end end)

  it("answers new clients while 2,000 idle connections are open", function()
    if fd_limit() < 2300 then
      pending("needs 2,300 file descriptors (ulimit -n) for the idle connections")
      return
    end
    local host, port = e.url:match("^http://([^:/]+):(%d+)")
    local idle = {}
    local ok, msg = pcall(function()
      for i = 1, 2000 do
        local s = assert(socket.tcp())
        s:settimeout(5)
        assert(s:connect(host, tonumber(port)))
        idle[i] = s
        if i % 500 == 0 then
          -- half of them sent part of a request and stalled, the other half nothing at all
          assert(idle[i]:send("GET /crm/v8/Deals HTTP/1.1\r\nHost: x\r\n"))
        end
      end
      local id = org.fresh(e, "Deals")
      for i = 1, 20 do
        local res, err = e:req("GET", ("/crm/v8/Deals/%s/Locking_Information__s?fields=Lock_Source__s"):format(id))
        assert.is_table(res, "request " .. i .. " with 2,000 idle connections open: " .. tostring(err))
        assert.equals(204, res.status)
      end
    end)
    for _, s in ipairs(idle) do s:close() end
    assert(ok, msg)
  end)

  it("still overlaps --latency sleeps of concurrent requests", function()
    local ids = {}
    for i = 1, 20 do ids[i] = org.fresh(e, "Deals") end
    e:faults{ latency_ms = 3000 }
    local ok, msg = pcall(function()
      local held = {}
      for i = 1, 20 do held[i] = e:hold(ids[i]) end
      -- all 20 sleep at the same time (the emulator counts them in flight), and the admin API
      -- still answers meanwhile
      e:wait_in_flight(20)
      for _, s in ipairs(held) do
        s:settimeout(10)
        assert.matches("^HTTP/1.1 %d+", s:receive("*l"))
        s:close()
      end
      assert.is_true(e:stats().max_in_flight >= 20)
    end)
    e:faults{ latency_ms = 0 }
    assert(ok, msg)
  end)

  it("refuses an encoded NUL in a path: 404 INVALID_URL_PATTERN, never a truncated path", function()
    local id = org.fresh(e, "Deals")
    for _, path in ipairs{ "/crm/v8/Deals%00/" .. id .. "/Locking_Information__s?fields=Lock_Source__s",
                           "/crm/v8/Deals%00?fields=Deal_Name",
                           "/crm/v8/Deals%00x?fields=Deal_Name",
                           "/crm/v8/Deals/" .. id .. "/Locking_Information__s%00?fields=Lock_Source__s",
                           "/__emu/state%00" } do
      local res = assert(e:req("GET", path))
      shape.top_error(res, { status = 404, code = "INVALID_URL_PATTERN", what = path,
        message = "Please check if the URL trying to access is a correct one" })
    end
    -- the same URLs without the NUL still work
    assert.equals(200, assert(e:req("GET", "/crm/v8/Deals?fields=Deal_Name")).status)
    local list = "/crm/v8/Deals/" .. id .. "/Locking_Information__s?fields=Lock_Source__s"
    assert.equals(204, assert(e:req("GET", list)).status)
  end)

  it("refuses an encoded NUL in a query parameter: 400 naming it, never a truncated value", function()
    local res = assert(e:req("GET", "/crm/v8/Deals?fields=Deal_Name%00,Stage&per_page=2"))
    shape.top_error(res, { status = 400, code = "INVALID_DATA", what = "fields",
      message = "invalid data", details = { param_name = "fields" } })
    res = assert(e:req("GET", "/crm/v8/Deals?fields=Deal_Name&per_page=2%00junk"))
    shape.top_error(res, { status = 400, code = "INVALID_DATA", what = "per_page",
      message = "invalid data", details = { param_name = "per_page" } })
    res = assert(e:req("GET", "/crm/v8/Deals?fie%00lds=Deal_Name"))
    shape.top_error(res, { status = 400, code = "INVALID_DATA", what = "a NUL in a name",
      message = "invalid data", details = { param_name = "fie%00lds" } })
    -- a criteria whose head alone would be valid
    res = assert(e:req("GET", "/crm/v8/Deals/search?criteria=(Stage:equals:Qualification)%00junk"))
    shape.top_error(res, { status = 400, code = "INVALID_QUERY", what = "criteria", message = "Invalid query formed" })
  end)
end)
