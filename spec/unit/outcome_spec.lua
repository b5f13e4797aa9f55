-- Outcomes without a server: the core's call state machine is driven step by step with canned
-- Zoho replies (no sockets), and the Lua layers only map what it decided: the one-at-a-time
-- methods' values and errors (zlock.client), a runner's outcome (Client._settle), the runner's
-- counts and halt (zlock.bulk over an engine that returns given answers).
local core = require "zlock.core"
local zlock = require "zlock"
local Client = zlock.Client
local bulk = require "zlock.bulk"

local ALREADY = '{"code":"NOT_ALLOWED","details":{"resource_path_index":1},'
  .. '"message":"record is already locked","status":"error"}'
local NOTFOUND = '{"code":"INVALID_DATA","details":{"resource_path_index":3},'
  .. '"message":"relation not found","status":"error"}'
local LOCKED = '{"data":[{"code":"SUCCESS","details":{"id":"111"},"message":"record added","status":"success"}]}'
local function list(...)
  local parts = {}
  for i, l in ipairs{ ... } do
    parts[i] = ('{"id":"%s","Lock_Source__s":"%s","Locked_Reason__s":"%s"}'):format(l[1], l[2], l[3] or "")
  end
  return '{"data":[' .. table.concat(parts, ",") .. '],"info":{"count":' .. #parts .. '}}'
end

local cc = assert(core.client{ api_domain = "http://127.0.0.1:9", access_token = "1000.unit" })

-- Runs one core call, answering its requests in order with `replies` ({status, body, method});
-- returns the core's result table (or nil, err) and the methods it sent.
local function drive(kind, lock_id, reason, rerun, replies)
  local call = assert(cc:call(kind, "Deals", "5843104000001068086", lock_id, reason, nil, rerun))
  local sent, i = {}, 0
  while true do
    local s = call:next()
    if s.kind == "done" then break end
    assert.equals("send", s.kind, "no waits expected")
    i = i + 1
    sent[i] = s.method
    local r = assert(replies[i], "unexpected request " .. i .. ": " .. s.method .. " " .. s.url)
    call:feed(r[1], r[2])
  end
  local res, err = call:result()
  call:close()
  return res, err, sent
end

describe("the core's outcomes", function()
  it("a lock: locked; a first-try 403 already_locked with its why, and no GET", function()
    local res = drive("lock", nil, "r", false, { { 201, LOCKED } })
    assert.equals("locked", res.outcome)
    local o, l, e = Client._settle("lock", res)
    assert.same({ "locked", "111", nil }, { o, l.id, e })
    local _, sent
    res, _, sent = drive("lock", nil, "r", false, { { 403, ALREADY } })
    assert.same({ "POST" }, sent)
    assert.equals("already_locked", res.outcome)
    assert.equals("NOT_ALLOWED", res.error.code)
    local v, err = Client._convert("lock", res)        -- what c:lock returns
    assert.is_nil(v)
    assert.equals("NOT_ALLOWED (HTTP 403): record is already locked", tostring(err))
    local outcome, value, why = Client._settle("lock", res)
    assert.same({ "already_locked", nil, "NOT_ALLOWED" }, { outcome, value, why.code })
  end)

  it("a rerun lock answered 403 lists the locks: ours is locked (reconciled), another already_locked", function()
    local res, _, sent = drive("lock", nil, "q", true, { { 403, ALREADY }, { 200, list({ "9", "Manual", "q" }) } })
    assert.same({ "POST", "GET" }, sent)
    local outcome, value, err = Client._settle("lock", res)
    assert.equals("locked", outcome)
    assert.is_nil(err)
    assert.equals("9", value.id)
    assert.is_true(value.reconciled)

    res = drive("lock", nil, "q", true,
      { { 403, ALREADY }, { 200, list({ "7", "Automatic", "q" }, { "8", "Manual", "other" }) } })
    outcome, value, err = Client._settle("lock", res)
    assert.equals("already_locked", outcome)
    assert.equals("8", value.id)                       -- the manual lock holds the record
    assert.equals("other", value.Locked_Reason__s)
    assert.equals("NOT_ALLOWED", err.code)
  end)

  it("an unlock without a lock id is one call: list, the manual lock's DELETE; none: already_unlocked", function()
    local res, _, sent = drive("unlock", nil, nil, false,
      { { 200, list({ "5", "Automatic" }, { "6", "Manual", "x" }) },
        { 200, '{"data":[{"code":"SUCCESS","details":{"id":"6"},"message":"relation removed","status":"success"}]}' } })
    assert.same({ "GET", "DELETE" }, sent)
    local outcome, value = Client._settle("unlock", res)
    assert.equals("unlocked", outcome)
    assert.equals("6", value.id)

    res, _, sent = drive("unlock", nil, nil, false, { { 204, "" } })
    assert.same({ "GET" }, sent)
    local v, err = Client._convert("unlock", res)      -- what c:unlock returns
    assert.is_nil(v)
    assert.equals("NOT_LOCKED", err.code)
    assert.equals("already_unlocked", (Client._settle("unlock", res)))

    res = drive("unlock", "6", nil, false, { { 400, NOTFOUND } })
    outcome, value, err = Client._settle("unlock", res)
    assert.same({ "already_unlocked", nil, "INVALID_DATA" }, { outcome, value, err.code })
  end)

  it("reads are got; a failed call has no result", function()
    local res = drive("list", nil, nil, false, { { 200, list({ "1", "Manual", "a" }) } })
    local outcome, locks, err = Client._settle("list", res)
    assert.same({ "got", "1", nil }, { outcome, locks[1].id, err })
    local r, e = drive("lock", nil, "r", false,
      { { 400, '{"code":"INVALID_MODULE","message":"no such module","status":"error"}' } })
    assert.is_nil(r)
    assert.equals("INVALID_MODULE", e.code)
  end)

  it("says which errors halt a run and which lock an unlock removes", function()
    assert.is_true(core.halts{ code = "CREDITS_EXHAUSTED", retryable = false })
    assert.is_true(core.halts{ code = "TOKEN", retryable = false })
    assert.is_false(core.halts{ code = "TOKEN", retryable = true })
    assert.is_false(core.halts{ code = "NOT_ALLOWED" })
    assert.is_false(core.halts(nil))
    assert.equals("4", core.pick_lock(list({ "3", "Automatic" }, { "4", "Manual" })))
    assert.equals("3", core.pick_lock(list({ "3", "Automatic" })))
    assert.is_nil(core.pick_lock('{"data":[]}'))
  end)
end)

describe("the bulk runner over an engine's outcomes", function()
  -- an engine that answers each item with the next of `answers` ({outcome=, result=, err=})
  local function engine(answers)
    local q, i = {}, 0
    return {
      submit = function(_, item) q[#q + 1] = item; return true end,
      poll = function()
        local out = {}
        for _, item in ipairs(q) do
          i = i + 1
          local a = answers[i]
          out[#out + 1] = { item = item, outcome = a.outcome, result = a.result, err = a.err }
        end
        q = {}
        return out
      end,
      inflight = function() return #q end,
      stats = function() return { concurrency = 1, max = 1, retries = 0, throttled = 0 } end,
      close = function() end,
    }
  end
  local c = assert(zlock.new{ api_domain = "http://127.0.0.1:9", access_token = "1000.unit" })

  it("counts the engine's outcomes, only failures as failed, and halts on spent credits", function()
    local seen = {}
    local credits = { code = "CREDITS_EXHAUSTED", message = "spent", retryable = false }
    local run = bulk.new(c, { engine = engine{
      { outcome = "locked", result = { id = "1", reconciled = true } },
      { outcome = "already_locked", result = { id = "2" }, err = { code = "NOT_ALLOWED" } },
      { outcome = "already_unlocked", err = { code = "NOT_LOCKED" } },
      {},   -- an engine that says no outcome: a failure, never a success
      { outcome = "failed", err = credits },
    }, on_result = function(item, res, err) seen[#seen + 1] = { item.outcome, res, err } end })
    run:lock("Deals", "1", "r")
    run:lock("Deals", "2", "r")
    run:unlock("Deals", "3")
    run:lock("Deals", "4", "r")
    run:lock("Deals", "5", "r")
    run:lock("Deals", "6", "r")       -- after the halt: failed at once with the same error
    run:lock("Deals", "7", "r")
    local s = run:finish()
    assert.same({ locked = 1, already_locked = 1, already_unlocked = 1, failed = 4 }, s.counts)
    assert.equals(1, s.reconciled)
    assert.equals(credits, s.halted)
    assert.same({ "already_locked", { id = "2" } }, { seen[2][1], seen[2][2] })
    assert.is_nil(seen[2][3])          -- nothing to do is no error for on_result
    assert.equals("engine returned no outcome", seen[4][3].message)
    assert.equals(credits, seen[5][3])
    assert.equals(credits, seen[6][3])
    assert.equals(credits, seen[7][3])
  end)

  it("refuses malformed items with the core's checks, invalid UTF-8 included", function()
    local run = bulk.new(c, { engine = engine{} })
    run:lock("Deals", "1", "caf\195")                 -- truncated UTF-8
    run:lock("1Deals", "1", "r")
    run:lock("Deals", "12345678901234567890", "r")
    run:lock("Deals", "1", ("é"):rep(3001))
    run:update("Deals", "1", "x1", "r")
    local s = run:finish()
    assert.equals(5, s.failed)
    local why = {}
    for i, f in ipairs(s.failures) do
      assert.equals("INVALID_ARGUMENT", f.code)
      why[i] = f.message
    end
    assert.matches("UTF%-8", why[1])
    assert.matches("module name: 1Deals", why[2])
    assert.matches("record id", why[3])
    assert.matches("3000 characters", why[4])
    assert.matches("lock id: x1", why[5])
  end)
end)
