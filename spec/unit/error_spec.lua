-- One error constructor (zlock.error): one shape and one tostring format for every error zlock
-- makes in Lua; every code zlock can produce is in README.md's error table; the sequential
-- engine turns only bad arguments into INVALID_ARGUMENT. No server needed.
local zlock = require "zlock"
local zerror = require "zlock.error"
local bulk = require "zlock.bulk"
local engine_seq = require "zlock.engine_seq"

describe("zlock.error", function()
  it("has one tostring format", function()
    assert.equals("POLICY: where() failed", tostring(zerror.new{ code = "POLICY", message = "where() failed" }))
    assert.equals("NOT_ALLOWED (HTTP 403): record is already locked",
      tostring(zerror.new{ code = "NOT_ALLOWED", message = "record is already locked", http_status = 403 }))
    assert.equals("INTERNAL: ", tostring(zerror.new{}))
  end)

  it("from(): keeps an error object, copies a table, wraps a message as ERROR", function()
    local e = zerror.new{ code = "JOURNAL", message = "x" }
    assert.equals(e, zerror.from(e))
    local t = zerror.from{ code = "TIMEOUT", message = "slow", retryable = true }
    assert.is_true(zerror.is(t))
    assert.equals("TIMEOUT: slow", tostring(t))
    assert.is_true(t.retryable)
    local m = zerror.from("boom")
    assert.equals("ERROR", m.code)
    assert.equals("ERROR: boom", tostring(m))
    assert.equals("POLICY", zerror.from("boom", "POLICY").code)
  end)

  it("is what a bulk run's failures carry", function()
    local run = bulk.new({}, { dry_run = true })
    run:lock("Deals", "not-a-number", "reason")
    run:fail("lock", "Deals", "1", "where() raised")
    local s = run:finish()
    assert.equals(2, #s.failures)
    for _, f in ipairs(s.failures) do assert.is_true(zerror.is(f.err)) end
    assert.equals("INVALID_ARGUMENT: invalid record id: not-a-number (must be 1 to 19 digits)",
                  tostring(s.failures[1].err))
    assert.equals("POLICY: where() raised", tostring(s.failures[2].err))
  end)

  it("is what a journal that cannot be opened returns", function()
    local j, err = require("zlock.journal").open("/nonexistent-dir/x.journal")
    assert.is_nil(j)
    assert.is_true(zerror.is(err))
    assert.matches("^JOURNAL: cannot open journal: ", tostring(err))
  end)
end)

describe("every error code", function()
  -- The codes zlock's own sources can produce.
  local function codes()
    local found = {}
    local function scan(path, patterns)
      local f = assert(io.open(path, "rb"))
      local src = f:read("*a")
      f:close()
      for _, pat in ipairs(patterns) do
        for code in src:gmatch(pat) do found[code] = path end
      end
    end
    local lua_pats = { 'code%s*=%s*"([A-Z][A-Z_]+)"', 'mkerr%("([A-Z][A-Z_]+)"' }
    local c_pats = { 'zl_err_set%([^,]+,%s*"([A-Z][A-Z_]+)"', 'zl_call_cancel%([^,]+,%s*"([A-Z][A-Z_]+)"',
                     'return "([A-Z][A-Z_]+)";' }
    local p = io.popen("ls lua/zlock/*.lua lua/zlock/ngx/*.lua csrc/*.c")
    for path in p:lines() do
      -- webhook.lua's codes are those of the examples' HTTP API replies (README, "webhook")
      if not path:find("webhook.lua", 1, true) then scan(path, path:match("%.lua$") and lua_pats or c_pats) end
    end
    p:close()
    found.SUCCESS = nil   -- Zoho's success item (client.lua builds one for an unlock), not an error
    return found
  end

  it("is in README.md's error table", function()
    local f = assert(io.open("README.md", "rb"))
    local readme = f:read("*a")
    f:close()
    local found = codes()
    assert.truthy(found.POLICY and found.JOURNAL and found.INVALID_ARGUMENT, "the scan finds the codes")
    for code, where in pairs(found) do
      assert.truthy(readme:find("\n| `" .. code .. "`", 1, true) or readme:find(", `" .. code .. "` |", 1, true),
        code .. " (from " .. where .. ") is not in README.md's error table")
    end
  end)
end)

describe("the sequential engine's errors", function()
  local c
  before_each(function()
    c = assert(zlock.new{ api_domain = "http://127.0.0.1:9", access_token = "1000.unit.token",
                          retries = { max_attempts = 1 } })
  end)
  after_each(function() c:close() end)

  it("turns a bad argument into the item's INVALID_ARGUMENT error", function()
    -- the core refuses a malformed op before any request
    local outcome, res, err = engine_seq.perform(c, { op = "lock", module = "Deals", record_id = "12x", reason = "r" })
    assert.same({ "failed", nil }, { outcome, res })
    assert.equals("INVALID_ARGUMENT", err.code)
    assert.matches("record id must be 1 to 19 digits", err.message, 1, true)
    -- a value the binding cannot take raises a bad argument: the item's error too, not the run's
    outcome, res, err = engine_seq.perform(c, { op = "lock", module = {}, record_id = "1", reason = "r" })
    assert.same({ "failed", nil }, { outcome, res })
    assert.equals("INVALID_ARGUMENT", err.code)
    assert.matches("bad argument #", err.message, 1, true)
  end)

  it("lets any other raised error (a bug) propagate", function()
    c:close()   -- a closed client raises "zlock client is closed": not a bad argument
    local ok, err = pcall(engine_seq.perform, c, { op = "get", module = "Deals", record_id = "12" })
    assert.is_false(ok)
    assert.matches("closed", tostring(err), 1, true)
  end)
end)
