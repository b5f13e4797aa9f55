-- `zlock --json` as a contract (docs/json.md), checked on the raw text the command prints:
-- every command's shape, lists always JSON arrays (`[]` when empty, never `{}`), the same error
-- object everywhere (code, message, http_status, retryable, details), module and record id in
-- every operation result.
local S = require "bulk.support"
local cjson = require "cjson"

local ERROR_KEYS = { "code", "details", "http_status", "message", "retryable" }

local function keys(t)
  local k = {}
  for name in pairs(t) do k[#k + 1] = name end
  table.sort(k)
  return k
end

local function assert_error_object(err)
  assert.same(ERROR_KEYS, keys(err))
  assert.is_string(err.code)
  assert.is_string(err.message)
  assert.is_boolean(err.retryable)
end

describe("zlock --json", function()
  local e, ids

  lazy_setup(function()
    e = S.start()
    ids = S.unlocked(e, "Deals")
  end)

  lazy_teardown(function()
    if e then e:stop() end
  end)

  local function take() return assert(table.remove(ids), "out of unlocked deals") end

  local function run_json(args, env)
    local obj, code, err, raw = S.zlock_json(e, args, env)
    assert.is_table(obj, "not JSON: " .. tostring(raw) .. " " .. tostring(err))
    assert.equals(1, select(2, raw:gsub("\n", "")), "one line of JSON")
    return obj, code, raw
  end

  it("get of an unlocked record: locks is [] (not {})", function()
    local id = take()
    local got, code, raw = run_json{ "get", "Deals", id }
    assert.equals(0, code)
    assert.matches('"locks":[]', raw, 1, true)
    assert.same({ "lock_id", "locks", "module", "operation", "record_id" }, keys(got))
    assert.equals("get", got.operation)
    assert.equals("Deals", got.module)
    assert.equals(id, got.record_id)
    assert.equals(cjson.null, got.lock_id)
  end)

  it("lock, get (list and one lock), update and unlock name the operation, module, record and lock", function()
    local id = take()
    local l, code = run_json{ "lock", "Deals", id, "--reason", "json spec" }
    assert.equals(0, code)
    assert.same({ "details", "lock_id", "module", "operation", "reconciled", "record_id" }, keys(l))
    assert.equals("lock", l.operation)
    assert.equals("Deals", l.module)
    assert.equals(id, l.record_id)
    assert.matches("^%d+$", l.lock_id)
    assert.is_false(l.reconciled)

    local g, raw
    g, code, raw = run_json{ "get", "Deals", id }
    assert.equals(0, code)
    assert.matches('"locks":[{', raw, 1, true)
    assert.equals(l.lock_id, g.locks[1].id)

    g, code = run_json{ "get", "Deals", id, l.lock_id }
    assert.equals(0, code)
    assert.same({ "lock", "lock_id", "module", "operation", "record_id" }, keys(g))
    assert.equals(l.lock_id, g.lock_id)
    assert.equals("json spec", g.lock.Locked_Reason__s)

    local u
    u, code = run_json{ "update", "Deals", id, l.lock_id, "--reason", "json spec 2" }
    assert.equals(0, code)
    assert.same({ "details", "lock_id", "module", "operation", "record_id" }, keys(u))
    assert.equals("update", u.operation)
    assert.equals(id, u.record_id)
    assert.equals(l.lock_id, u.lock_id)

    u, code = run_json{ "unlock", "Deals", id }
    assert.equals(0, code)
    assert.same({ "details", "lock_id", "module", "operation", "record_id" }, keys(u))
    assert.equals("unlock", u.operation)
    assert.equals("Deals", u.module)
    assert.equals(l.lock_id, u.lock_id)
  end)

  it("a failed call prints the error object with all five keys", function()
    local res, code = run_json{ "unlock", "Deals", "1234567890123456789", "1234567890123456789" }
    assert.equals(1, code)
    assert.same({ "error" }, keys(res))
    assert_error_object(res.error)
    assert.equals("INVALID_DATA", res.error.code)
    assert.equals(400, res.error.http_status)
    assert.is_false(res.error.retryable)
    assert.is_table(res.error.details)
  end)

  it("a call that gets no reply: http_status null, retryable true", function()
    local dead = S.start()
    local url = dead.url
    dead:stop()
    local env = "env ZOHO_API_DOMAIN=" .. S.quote(url) .. " ZOHO_ACCESS_TOKEN=x "
    local p = io.popen(env .. "bin/zlock --json get Deals 1 2>/dev/null")
    local raw = p:read("*a")
    local _, _, c = p:close()
    assert.equals(1, c)
    local res = cjson.decode(raw)
    assert_error_object(res.error)
    assert.equals("CONNECT", res.error.code)
    assert.equals(cjson.null, res.error.http_status)
    assert.is_true(res.error.retryable)
  end)

  it("locks: a JSON array, [] when the org has no lock", function()
    local empty = S.start{ "--seed", "empty" }
    local out, code, err = S.zlock(empty, { "--json", "locks" })
    empty:stop()
    assert.equals(0, code, err)
    assert.equals("[]\n", out)
    local id = take()
    S.zlock(e, { "lock", "Deals", id, "--reason", "json spec audit" })
    local list, raw
    list, code, raw = run_json{ "locks", "Deals" }
    assert.equals(0, code)
    assert.matches("^%[{", raw)
    local found
    for _, l in ipairs(list) do
      assert.same({ "age_days", "lock_id", "locked_by", "locked_time", "module", "reason", "record_id",
                    "record_name", "source" }, keys(l))
      if l.record_id == id then found = l end
    end
    assert.is_table(found)
    assert.equals("Deals", found.module)
    assert.equals("json spec audit", found.reason)
  end)

  it("run: failures and plan are [] when empty; a failure carries the error object", function()
    local f = S.tmpfile([[
      return { module = "Deals", select = { fields = { "Deal_Name" } }, action = "lock",
               where = function() return false end, reason = "never" }
    ]], ".lua")
    local s, code, raw = run_json{ "run", f }
    assert.equals(0, code)
    assert.matches('"failures":[]', raw, 1, true)
    assert.is_false(s.interrupted)
    assert.equals(cjson.null, s.halted)
    s, code, raw = run_json{ "run", f, "--dry-run" }
    assert.equals(0, code)
    assert.is_true(s.dry_run)
    assert.matches('"plan":[]', raw, 1, true)
    assert.matches('"failures":[]', raw, 1, true)
    os.remove(f)

    local bad = take()
    f = S.tmpfile(([[
      return { module = "Deals", select = { fields = { "Deal_Name" } }, action = "lock",
               where = function(r) if r.id == "%s" then error("no way") end return false end, reason = "x" }
    ]]):format(bad), ".lua")
    s, code = run_json{ "run", f }
    assert.equals(1, code)
    assert.equals(1, #s.failures)
    local fl = s.failures[1]
    assert.same({ "error", "lock_id", "module", "op", "record_id" }, keys(fl))
    assert.equals(bad, fl.record_id)
    assert_error_object(fl.error)
    assert.equals("POLICY", fl.error.code)
    os.remove(f)
  end)

  it("usage errors stay on stderr: nothing on stdout, exit 2", function()
    local out, code, err = S.zlock(e, { "--json", "lock", "Deals", "12ab", "--reason", "r" })
    assert.equals(2, code)
    assert.equals("", out)
    assert.matches("RECORD_ID", err, 1, true)
  end)
end)
