-- Programmer mistakes: wrong types, malformed ids, bad module names, over-long or
-- invalid-UTF-8 reasons raise `bad argument #n to '<fn>' (...)` before any request is sent:
-- the emulator's request counters must not move. Argument numbers follow Lua's rule for
-- methods (self is not counted): c:lock(module #1, record_id #2, reason #3),
-- c:update(module #1, record_id #2, lock_id #3, reason #4); the module-level functions match.
local support = require "core.support"
local zlock = require "zlock"

local GOOD_ID = "5843104000001068086"
local TWENTY = "12345678901234567890"

describe("zlock argument checks", function()
  local e, c

  lazy_setup(function()
    e = support.start()
    c = support.client(e)
  end)

  lazy_teardown(function()
    if c and c.close then c:close() end
    if e then e:stop() end
  end)

  --- Calls fn(...) expecting it to raise "bad argument #n to 'name'", and no request to reach the emulator.
  local function refuses(n, name, fn, ...)
    local before = support.api_requests(e)
    local ok, msg = pcall(fn, ...)
    assert.is_false(ok, "no error raised")
    assert.is_string(msg)
    assert.matches("bad argument #" .. n .. " to '" .. name .. "' (", msg, 1, true)
    assert.matches("%)$", msg)
    assert.equals(before, (support.api_requests(e)), "a request reached the emulator")
    return msg
  end

  describe("module names", function()
    for _, m in ipairs{ "", "1Deals", "_Deals", "Deals-x", "Deals/x", "Deals;x", "Dé", "Deals x", ("A"):rep(101),
                        "Deals\0" } do
      it(("refuses %q in lock, get, update, unlock"):format(m:sub(1, 20)), function()
        refuses(1, "lock", c.lock, c, m, GOOD_ID, "r")
        refuses(1, "get", c.get, c, m, GOOD_ID)
        refuses(1, "get", c.get, c, m, GOOD_ID, GOOD_ID)
        refuses(1, "update", c.update, c, m, GOOD_ID, GOOD_ID, "r")
        refuses(1, "unlock", c.unlock, c, m, GOOD_ID, GOOD_ID)
      end)
    end

    it("refuses non-strings", function()
      refuses(1, "lock", c.lock, c, nil, GOOD_ID, "r")
      refuses(1, "lock", c.lock, c, 42, GOOD_ID, "r")
      refuses(1, "get", c.get, c, {}, GOOD_ID)
    end)

    it("accepts 100 characters of [A-Za-z0-9_] (the server then answers INVALID_MODULE)", function()
      local res, err = c:get("A" .. ("b_9"):rep(33), GOOD_ID)
      assert.is_nil(res)
      assert.equals("INVALID_MODULE", err.code)
    end)
  end)

  describe("record ids", function()
    for _, id in ipairs{ TWENTY, "", "12a4", "-1", "1.5", " 123", "123 ", "0x1F", "１２３" } do
      it(("refuses %q in lock, get, update, unlock"):format(id), function()
        refuses(2, "lock", c.lock, c, "Deals", id, "r")
        refuses(2, "get", c.get, c, "Deals", id)
        refuses(2, "update", c.update, c, "Deals", id, GOOD_ID, "r")
        refuses(2, "unlock", c.unlock, c, "Deals", id, GOOD_ID)
      end)
    end

    it("refuses ids given as numbers (ids are strings) and other types", function()
      refuses(2, "lock", c.lock, c, "Deals", 5843104000001068086, "r")
      refuses(2, "get", c.get, c, "Deals", 42)
      refuses(2, "lock", c.lock, c, "Deals", nil, "r")
      refuses(2, "unlock", c.unlock, c, "Deals", {}, GOOD_ID)
    end)

    it("accepts 19 digits (the server then answers INVALID_DATA)", function()
      local res, err = c:get("Deals", "9999999999999999999")
      assert.is_nil(res)
      assert.equals("INVALID_DATA", err.code)
    end)
  end)

  describe("lock ids", function()
    for _, id in ipairs{ TWENTY, "", "abc", "12 3" } do
      it(("refuses %q in get, update, unlock"):format(id), function()
        refuses(3, "get", c.get, c, "Deals", GOOD_ID, id)
        refuses(3, "update", c.update, c, "Deals", GOOD_ID, id, "r")
        refuses(3, "unlock", c.unlock, c, "Deals", GOOD_ID, id)
      end)
    end

    it("refuses numbers and missing lock ids where one is required", function()
      refuses(3, "get", c.get, c, "Deals", GOOD_ID, 42)
      refuses(3, "update", c.update, c, "Deals", GOOD_ID, nil, "r")
      refuses(3, "update", c.update, c, "Deals", GOOD_ID, 5843104000001068086, "r")
      refuses(3, "unlock", c.unlock, c, "Deals", GOOD_ID, 42)
    end)
  end)

  describe("reasons", function()
    local cases = {
      { "3001 characters", ("x"):rep(3001) },
      { "3001 two-byte characters", ("é"):rep(3001) },
      { "a lone continuation byte", "abc\128def" },
      { "0xFF", "\255" },
      { "an overlong '/'", "\192\175" },
      { "a truncated sequence", "\226\130" },
      { "a UTF-16 surrogate", "\237\160\128" },
      { "a code point past U+10FFFF", "\244\144\128\128" },
    }
    for _, case in ipairs(cases) do
      it("refuses " .. case[1] .. " in lock and update", function()
        refuses(3, "lock", c.lock, c, "Deals", GOOD_ID, case[2])
        refuses(4, "update", c.update, c, "Deals", GOOD_ID, GOOD_ID, case[2])
      end)
    end

    it("refuses non-string reasons", function()
      refuses(3, "lock", c.lock, c, "Deals", GOOD_ID, {})
      refuses(3, "lock", c.lock, c, "Deals", GOOD_ID, true)
      refuses(4, "update", c.update, c, "Deals", GOOD_ID, GOOD_ID, nil)
      refuses(4, "update", c.update, c, "Deals", GOOD_ID, GOOD_ID, 42)
    end)
  end)

  describe("list options", function()
    it("refuses an options argument that is neither a lock id nor a table", function()
      refuses(3, "get", c.get, c, "Deals", GOOD_ID, true)
    end)

    it("refuses page / per_page that are not positive integers", function()
      refuses(3, "get", c.get, c, "Deals", GOOD_ID, { page = "two" })
      refuses(3, "get", c.get, c, "Deals", GOOD_ID, { per_page = -1 })
      refuses(3, "get", c.get, c, "Deals", GOOD_ID, { page = 1.5 })
    end)

    it("refuses malformed ids in the ids filter", function()
      refuses(3, "get", c.get, c, "Deals", GOOD_ID, { ids = { TWENTY } })
      refuses(3, "get", c.get, c, "Deals", GOOD_ID, { ids = { "abc" } })
    end)
  end)

  describe("module-level functions and helpers", function()
    it("zlock.lock/get/update/unlock number their arguments the same way", function()
      zlock.configure{ api_domain = e.url, access_token = support.emu.ACCESS_TOKEN }
      refuses(1, "lock", zlock.lock, "Deals-x", GOOD_ID, "r")
      refuses(2, "get", zlock.get, "Deals", TWENTY)
      refuses(3, "update", zlock.update, "Deals", GOOD_ID, "x", "r")
      refuses(4, "update", zlock.update, "Deals", GOOD_ID, GOOD_ID, ("x"):rep(3001))
      refuses(3, "unlock", zlock.unlock, "Deals", GOOD_ID, "")
    end)

    it("zlock.lock/get raise on bad arguments even when no default client can be built", function()
      local out = support.run_lua([[
        local zlock = require "zlock"
        local ok1, m1 = pcall(zlock.lock, "Deals-x", "5843104000001068086", "r")
        local ok2, m2 = pcall(zlock.get, "Deals", "12345678901234567890")
        io.write(tostring(ok1), " ", tostring(m1), "\n", tostring(ok2), " ", tostring(m2), "\n")
      ]], {})
      assert.matches("false [^\n]*bad argument #1 to 'lock'", out)
      assert.matches("false [^\n]*bad argument #2 to 'get'", out)
    end)

    it("c:locked and c:unlock without a lock id check their arguments too", function()
      refuses(1, "locked", c.locked, c, "1x", GOOD_ID)
      refuses(2, "locked", c.locked, c, "Deals", TWENTY)
      refuses(2, "unlock", c.unlock, c, "Deals", TWENTY)
    end)

    it("zlock.new refuses a non-table", function()
      local ok, msg = pcall(zlock.new, "https://www.zohoapis.com")
      assert.is_false(ok)
      assert.matches("bad argument #1 to 'new'", msg, 1, true)
    end)

    it("zlock.new refuses options of the wrong type", function()
      for _, opts in ipairs{
        { api_domain = 42, access_token = "t" },
        { api_domain = e.url, access_token = {} },
        { api_domain = e.url, access_token = "t", timeout = -1 },
        { api_domain = e.url, access_token = "t", timeout = "30" },
        { api_domain = e.url, access_token = "t", retries = 5 },
        { api_domain = e.url, access_token = "t", on_retry = "print" },
      } do
        local ok, msg = pcall(zlock.new, opts)
        assert.is_false(ok, "accepted an option of the wrong type")
        assert.matches("bad argument #1 to 'new'", msg, 1, true)
      end
    end)
  end)
end)
