-- The C bulk engine (zlock.core engine on libcurl multi, wrapped by zlock.engine_multi) against
-- zlock-emu over real sockets: the engine interface of zlock.bulk, results identical to the
-- blocking calls', connection reuse, 429 handling (window cuts, restarts bounded by time).
local S = require "bulk.support"
local emu = require "helpers.emu"
local engine_multi = require "zlock.engine_multi"
local socket = require "socket"

-- Runs items through an engine until every one is back; returns the finished list in order of
-- completion. Fails on an item returned twice or not at all.
local function run_items(eng, items)
  local out, seen, i = {}, {}, 1
  while i <= #items or eng:inflight() > 0 do
    while i <= #items and eng:submit(items[i]) do i = i + 1 end
    for _, d in ipairs(eng:poll(0.2)) do
      assert(not seen[d.item], "item returned twice: " .. tostring(d.item.key))
      seen[d.item] = true
      out[#out + 1] = d
    end
  end
  for _, it in ipairs(items) do assert(seen[it], "item never returned: " .. tostring(it.key)) end
  return out
end

-- A lock item per record id (keyed by the id).
local function lock_items(ids, reason)
  local items = {}
  for i, id in ipairs(ids) do
    items[i] = { op = "lock", module = "Deals", record_id = id, reason = reason, key = id }
  end
  return items
end

local function by_key(done)
  local t = {}
  for _, d in ipairs(done) do t[d.item.key] = d end
  return t
end

-- Every record of `ids` holds exactly one lock, the one its item (in `done`, by key) reports,
-- with `reason` when given.
local function assert_locked_once(e, ids, done, reason)
  local _, by = S.locks(e)
  for _, id in ipairs(ids) do
    local d = assert(done[id], "item never returned: " .. id)
    assert(d.result, "item failed: " .. tostring(d.err))
    assert.equals(1, by[id] and #by[id] or 0, "locks on " .. id)
    assert.equals(by[id][1].lock_id, d.result.id)
    if reason then assert.equals(reason, by[id][1].reason) end
  end
end

-- Same keys, with values of the same type (lock ids and times differ between two records).
local function assert_same_shape(a, b, path)
  path = path or "result"
  assert.equals(type(a), type(b), path)
  if type(a) ~= "table" then return end
  for k, v in pairs(a) do
    assert(b[k] ~= nil, path .. "." .. tostring(k) .. " missing")
    assert_same_shape(v, b[k], path .. "." .. tostring(k))
  end
  for k in pairs(b) do assert(a[k] ~= nil, path .. "." .. tostring(k) .. " unexpected") end
end

local function err_fields(e)
  return { code = e.code, message = e.message, http_status = e.http_status, retryable = e.retryable,
           details = e.details }
end

-- Runs fn(e) against an emulator of its own started with args; stops it whatever happens.
local function with_emu(args, fn)
  local e = S.start(args)
  local ok, why = pcall(fn, e)
  e:stop()
  assert(ok, why)
end

describe("the C bulk engine", function()
  local e, c

  lazy_setup(function()
    e = S.start{ "--records", "Deals=300" }
    c = S.client(e)
  end)

  lazy_teardown(function()
    if c then c:close() end
    if e then e:stop() end
  end)

  it("gives each op exactly the result and error tables of the blocking calls", function()
    local ids = S.unlocked(e, "Deals", 4)
    local r1, r2, r3, r4 = ids[1], ids[2], ids[3], ids[4]
    local eng = assert(engine_multi.new(c, { concurrency = 4 }))
    local reason = "engine spec same shape"
    local done = by_key(run_items(eng, {
      { op = "lock", module = "Deals", record_id = r1, reason = reason, key = "lock1" },
      { op = "lock", module = "Deals", record_id = r3, reason = reason, key = "lock3" },
    }))
    local blocking = assert(c:lock("Deals", r2, reason))
    local lock1 = assert(done.lock1.result, tostring(done.lock1.err))
    assert.is_nil(done.lock1.err)
    assert_same_shape(blocking, lock1)
    assert.matches("^%d+$", lock1.id)
    assert.equals(lock1.id, lock1.details.id)

    local _, by = S.locks(e)
    assert.equals(lock1.id, by[r1][1].lock_id)
    assert.equals(reason, by[r1][1].reason)

    -- reads: the same tables as c:get, field for field
    done = by_key(run_items(eng, {
      { op = "get", module = "Deals", record_id = r1, key = "list" },
      { op = "get", module = "Deals", record_id = r1, lock_id = lock1.id, key = "one" },
      { op = "get", module = "Deals", record_id = r4, key = "none" },
    }))
    assert.same((c:get("Deals", r1)), done.list.result)
    assert.is_nil(done.list.err)   -- c:get's second value (paging info) is no error
    assert.same(c:get("Deals", r1, lock1.id), done.one.result)
    assert.same({}, done.none.result)

    -- errors: locking a locked record
    local berr = select(2, c:lock("Deals", r1, reason))
    done = by_key(run_items(eng, { { op = "lock", module = "Deals", record_id = r1, reason = reason, key = "again" } }))
    assert.is_nil(done.again.result)
    assert.same(err_fields(berr), err_fields(done.again.err))
    assert.equals("NOT_ALLOWED", done.again.err.code)
    assert.equals(tostring(berr), tostring(done.again.err))

    -- update, unlock with and without lock id (two calls), unlock of an unlocked record
    local bupd = assert(c:update("Deals", r2, blocking.id, reason .. " 2"))
    done = by_key(run_items(eng, {
      { op = "update", module = "Deals", record_id = r1, lock_id = lock1.id, reason = reason .. " 2", key = "upd" },
    }))
    assert_same_shape(bupd, done.upd.result)
    assert.equals(lock1.id, done.upd.result.details.id)
    done = by_key(run_items(eng, {
      { op = "unlock", module = "Deals", record_id = r1, lock_id = lock1.id, key = "unl1" },
      { op = "unlock", module = "Deals", record_id = r2, key = "unl2" },
      { op = "unlock", module = "Deals", record_id = r4, key = "unl4" },
    }))
    assert.equals(lock1.id, done.unl1.result.details.id)
    assert.equals(blocking.id, done.unl2.result.details.id)
    assert.is_nil(done.unl4.result)
    assert.equals("NOT_LOCKED", done.unl4.err.code)
    _, by = S.locks(e)
    assert.is_nil(by[r1])
    assert.is_nil(by[r2])
    assert.equals(1, #by[r3])
    eng:close()
  end)

  it("returns every item exactly once, refuses submits when full, and reuses one connection per slot", function()
    local ids = S.unlocked(e, "Deals", 120)
    local eng = assert(engine_multi.new(c, { concurrency = 4 }))
    -- without polling, the engine fills up and says so
    local accepted = 0
    for i = 1, 100 do
      if not eng:submit{ op = "get", module = "Deals", record_id = ids[i], key = "g" .. i } then break end
      accepted = accepted + 1
    end
    assert.is_true(accepted >= 4 and accepted < 100, "accepted " .. accepted .. " items without a poll")
    assert.equals(accepted, eng:inflight())
    local back = 0
    while eng:inflight() > 0 do
      for _, d in ipairs(eng:poll(0.2)) do
        assert.same({}, d.result)
        back = back + 1
      end
    end
    assert.equals(accepted, back)

    local items = {}
    for i, id in ipairs(ids) do
      items[#items + 1] = { op = "lock", module = "Deals", record_id = id, reason = "engine spec once", key = "l" .. i }
    end
    local done = run_items(eng, items)
    assert.equals(#items, #done)
    local st = eng:stats()
    assert.equals("multi", st.engine)
    assert.equals(4, st.max)
    assert.is_true(st.max_inflight <= 4)
    assert.is_true(st.concurrency >= 1 and st.concurrency <= 4)
    assert.is_true(st.connects >= 1 and st.connects <= 4, st.connects .. " connections for 4 slots")
    assert.equals(0, st.throttled)
    local _, by = S.locks(e)
    for _, id in ipairs(ids) do
      assert.equals(1, by[id] and #by[id] or 0)
      assert.equals("engine spec once", by[id][1].reason)
    end
    for _, id in ipairs(ids) do assert(c:unlock("Deals", id)) end
    eng:close()
    eng:close()   -- idempotent
    assert.equals(0, eng:inflight())
    assert.has_error(function() eng:submit{ op = "get", module = "Deals", record_id = ids[1], key = "x" } end)
  end)

  it("abandons items in flight on close without leaking them into a later engine", function()
    local ids = S.unlocked(e, "Deals", 10)
    local eng = assert(engine_multi.new(c, { concurrency = 4 }))
    for i, id in ipairs(ids) do eng:submit{ op = "get", module = "Deals", record_id = id, key = "a" .. i } end
    eng:poll(0)
    eng:close()
    local eng2 = assert(engine_multi.new(c, { concurrency = 4 }))
    assert.equals(0, eng2:inflight())
    assert.same({}, eng2:poll(0))
    eng2:close()
  end)

  it("shares one token refresh among everything in flight, and one refused refresh fails every item", function()
    local zlock = require "zlock"
    local url = S.url(e)
    local ids = S.unlocked(e, "Deals", 40)
    local items = {}
    for i, id in ipairs(ids) do items[i] = { op = "get", module = "Deals", record_id = id, key = "tk" .. i } end
    -- a good refresh flow: 40 items, one token for all of them
    local minted = e:stats().tokens_minted
    local good = assert(zlock.new{ api_domain = url, accounts_domain = url, client_id = emu.CLIENT_ID,
                                   client_secret = emu.CLIENT_SECRET, refresh_token = emu.REFRESH_TOKEN,
                                   token_store = "none" })
    local eng = assert(good:bulk_engine{ concurrency = 8, initial = 8 })
    for _, d in ipairs(run_items(eng, items)) do assert(d.result, tostring(d.err)) end
    assert.equals(minted + 1, e:stats().tokens_minted)
    assert.equals(1, eng:stats().token_requests)
    eng:close()
    good:close()
    -- a refresh token the server refuses: one token request, every item fails with TOKEN
    local before = S.route_count(e, "oauth.token")
    local secret = "1000.not-the-refresh-token-of-this-org"
    local bad = assert(zlock.new{ api_domain = url, accounts_domain = url, client_id = emu.CLIENT_ID,
                                  client_secret = emu.CLIENT_SECRET, refresh_token = secret,
                                  token_store = "none" })
    eng = assert(bad:bulk_engine{ concurrency = 4 })
    local done = run_items(eng, items)
    assert.equals(#items, #done)
    for _, d in ipairs(done) do
      assert.is_nil(d.result)
      assert.equals("TOKEN", d.err.code)
      assert.is_false(tostring(d.err):find(secret, 1, true) ~= nil)
      assert.is_false(tostring(d.err):find(emu.CLIENT_SECRET, 1, true) ~= nil)
    end
    assert.equals(before + 1, S.route_count(e, "oauth.token"))
    eng:close()
    bad:close()
  end)

  it("is what c:bulk runs by default (the runner finds it through c:bulk_engine)", function()
    local ids = S.unlocked(e, "Deals", 20)
    local run = c:bulk{ concurrency = 5 }
    for _, id in ipairs(ids) do run:lock("Deals", id, "engine spec runner") end
    local sum = run:finish()
    assert.equals(20, sum.counts.locked)
    assert.equals("multi", sum.engine.engine)
    assert.equals(5, sum.engine.max)
    for _, id in ipairs(ids) do assert(c:unlock("Deals", id)) end
  end)
end)

describe("the C bulk engine under 429", function()
  it("cuts its window, and restarts calls that ran out of attempts on 429 while young enough", function()
    with_emu({ "--records", "Deals=200", "--concurrency-limit", "2", "--latency", "20" }, function(e)
      -- one attempt per call: every 429 ends a call, so only the engine's restarts save the items
      local c = S.client(e, { retries = { max_attempts = 1 } })
      local ids = S.unlocked(e, "Deals", 60)
      local eng = assert(engine_multi.new(c, { concurrency = 8, initial = 8, throttle_pause = 0.05 }))
      local items = {}
      for i, id in ipairs(ids) do items[i] = { op = "get", module = "Deals", record_id = id, key = "t" .. i } end
      local done = run_items(eng, items)
      for _, d in ipairs(done) do assert(d.result, tostring(d.err)) end
      local st = eng:stats()
      assert.is_true(st.throttled > 0, "no 429 seen: the spec proves nothing")
      assert.is_true(st.cuts > 0)
      assert.is_true(st.restarts > 0)
      assert.is_true(st.concurrency < 8, "window still " .. st.concurrency)
      assert.is_true(st.limit_estimate >= 1 and st.limit_estimate < 8, "limit estimate " .. st.limit_estimate)
      eng:close()

      -- no time budget: the 429 is the item's error, reported, never dropped
      eng = assert(engine_multi.new(c, { concurrency = 8, initial = 8, throttle_budget = 0 }))
      done = run_items(eng, items)
      local throttled = 0
      for _, d in ipairs(done) do
        if d.err then
          assert.equals("TOO_MANY_REQUESTS", d.err.code)
          assert.equals(429, d.err.http_status)
          throttled = throttled + 1
        end
      end
      assert.is_true(throttled > 0, "no item failed on 429 without restarts")
      assert.equals(#items, #done)
      eng:close()
    end)
  end)
end)

describe("the C bulk engine after a lost reply", function()
  it("reconciles a lock restarted after its call ran out of attempts on 429", function()
    -- every first POST is dropped (about half after the lock was applied: a lost reply); while
    -- they are in the emulator, 8 other requests take every place of its concurrency limit, so
    -- every later request gets 429 until the calls run out of attempts and the engine restarts
    -- them; then the limit is lifted. A restarted lock whose first POST landed must end as a
    -- success (reconciled), not as NOT_ALLOWED. (Spent credits would not do: a 429 saying 0
    -- credits remain is final, CREDITS_EXHAUSTED, and never restarted.)
    local e = S.start{ "--records", "Deals=50", "--drop-rate", "1", "--random-seed", "7" }
    local holders = {}
    local ok, why = pcall(function()
      -- 4 attempts: a POST refused on a reused connection the emulator had just closed never
      -- reaches it, so one more attempt may be dropped before the 429s come
      local c = S.client(e, { retries = { max_attempts = 4, base_delay = 0.02, max_delay = 0.05 } })
      local ids = S.unlocked(e, "Deals", 8)
      local hold_id = S.unlocked(e, "Deals", 9)[9]
      assert(e:faults{ latency_ms = 5000, concurrency_limit = 16 })
      local eng = assert(engine_multi.new(c, { concurrency = 8, initial = 8, throttle_pause = 0.05 }))
      local reason = "restart after a lost reply"
      local items = lock_items(ids, reason)
      for _, it in ipairs(items) do assert.is_true(eng:submit(it)) end
      local done = {}
      local function drive(t)
        for _, d in ipairs(eng:poll(t)) do
          assert.is_nil(done[d.item.key], "item returned twice")
          done[d.item.key] = d
        end
      end
      e:wait_in_flight(8, drive)              -- the 8 first POSTs sleep 5 s, then are dropped
      assert(e:faults{ latency_ms = 15000 })
      for i = 1, 8 do holders[i] = e:hold(hold_id) end
      e:wait_in_flight(16, drive)             -- the holders sleep 15 s
      assert(e:faults{ latency_ms = 0, concurrency_limit = 8 })
      local lifted, landed = false, 0
      local before = #S.locks(e)
      local deadline = os.time() + 60
      while eng:inflight() > 0 do
        assert(os.time() < deadline, "engine did not finish")
        drive(0.05)
        if not lifted and eng:stats().restarts >= #items then
          -- every call has met a 429 after its dropped POST: nothing can land any more; the
          -- locks there now are those whose reply was lost
          landed = #S.locks(e) - before
          assert(e:faults{ concurrency_limit = 0, drop_rate = 0 })
          lifted = true
        end
      end
      assert.is_true(lifted, "the items finished before every one was restarted: the spec proves nothing")
      assert.is_true(landed >= 1 and landed < #items, "locks landed with a lost reply: " .. landed)
      local _, by = S.locks(e)
      local reconciled = 0
      for _, id in ipairs(ids) do
        local d = assert(done[id], "item never returned: " .. id)
        assert(d.result, tostring(d.err))
        assert.equals(1, #by[id], "locks on " .. id)
        assert.equals(reason, by[id][1].reason)
        assert.equals(by[id][1].lock_id, d.result.id)
        if d.result.reconciled then reconciled = reconciled + 1 end
      end
      -- the locks that landed with the lost reply are found again, the others are made anew
      assert.equals(landed, reconciled)
      eng:close()
    end)
    for _, sock in ipairs(holders) do sock:close() end
    e:stop("KILL")   -- its holder threads still sleep: no need to wait for them
    assert(ok, why)
  end)
end)

describe("the C bulk engine's retries", function()
  it("are not used up by 429s: a call that meets a lost reply after its 429s starts again", function()
    -- Two outside requests of 40 ms arrive every 40 ms against a limit of 2: whatever the
    -- window, most of the engine's requests meet 429, and one now and then slips through, to be
    -- lost one time in 5. When the one that slips through is a call's 7th attempt and is lost,
    -- the call fails with CLOSED though faults took 1 of its 7 attempts: the item must start
    -- again (with a rule that restarts only calls ending on 429, an item failed so in 5 runs of
    -- 5). Lost replies alone would spend a call's 7 attempts once in 80,000 calls.
    with_emu({ "--records", "Deals=100", "--latency", "40", "--concurrency-limit", "2", "--drop-rate", "0.2",
               "--random-seed", "5" }, function(e)
      local c = S.client(e, { retries = { max_attempts = 7, base_delay = 0.005, max_delay = 0.02 } })
      local ids = S.unlocked(e, "Deals", 80)
      local hold_id = S.unlocked(e, "Deals", 81)[81]
      local eng = assert(engine_multi.new(c, { concurrency = 4, throttle_pause = 0.01 }))
      local items = lock_items(ids, "retries")
      local done, i, holders = {}, 1, {}
      local deadline = socket.gettime() + 120
      while i <= #items or eng:inflight() > 0 do
        assert(socket.gettime() < deadline, "engine did not finish")
        while i <= #items and eng:submit(items[i]) do i = i + 1 end
        for k = 1, 2 do
          if holders[k] then holders[k]:close() end
          holders[k] = e:hold(hold_id)
        end
        for _, d in ipairs(eng:poll(0.04)) do done[d.item.key] = d end
      end
      for _, sock in ipairs(holders) do sock:close() end
      local st = eng:stats()
      assert.is_true(st.throttled > 4 * #ids, "few 429s (" .. st.throttled .. "): the spec proves nothing")
      assert_locked_once(e, ids, done, "retries")
      eng:close()
    end)
  end)
end)

describe("the C bulk engine's lean results", function()
  it("give a lock, update and unlock as {id=, reconciled=} only, the same ids as full results", function()
    with_emu({ "--records", "Deals=30" }, function(e)
      local c = S.client(e)
      local ids = S.unlocked(e, "Deals", 4)
      local lean = assert(engine_multi.new(c, { concurrency = 4, lean = true }))
      local done = by_key(run_items(lean, lock_items(ids, "lean")))
      local _, by = S.locks(e)
      for _, id in ipairs(ids) do
        assert.same({ id = by[id][1].lock_id }, done[id].result)
      end
      local upd = by_key(run_items(lean, {
        { op = "update", module = "Deals", record_id = ids[1], lock_id = by[ids[1]][1].lock_id, reason = "lean 2",
          key = "u" },
        { op = "unlock", module = "Deals", record_id = ids[2], lock_id = by[ids[2]][1].lock_id, key = "d" },
        { op = "get", module = "Deals", record_id = ids[3], key = "g" },
      }))
      assert.same({ id = by[ids[1]][1].lock_id }, upd.u.result)
      assert.same({ id = by[ids[2]][1].lock_id }, upd.d.result)
      assert.equals("lean", upd.g.result[1].Locked_Reason__s)   -- a get is decoded in full
      lean:close()
    end)
  end)
end)

describe("the C bulk engine's threads option (deprecated)", function()
  it("takes c:bulk{ threads = N } (0 to 16) and ignores it, refusing anything else before a request", function()
    with_emu({ "--records", "Deals=30" }, function(e)
      local c = S.client(e)
      for _, bad in ipairs{ 17, -1, 1.5, "2", true } do
        local ok, err = pcall(c.bulk, c, { threads = bad })
        assert.is_false(ok)
        assert.matches("threads must be an integer from 0 to 16", tostring(err))
      end
      local ids = S.unlocked(e, "Deals", 10)
      for _, threads in ipairs{ 1, 3 } do
        local run = c:bulk{ concurrency = 4, threads = threads }
        for _, id in ipairs(ids) do run:get("Deals", id) end
        local sum = run:finish()
        assert.equals(10, sum.counts.got)
        assert.equals(1, sum.engine.threads)
      end
    end)
  end)
end)

describe("the C bulk engine under 429s, lost replies and token expiry at once", function()
  for _, seed in ipairs{ 11, 12, 14 } do
    it(("keeps its window and the exact state (seed %d)"):format(seed), function()
      -- 1,200 locks at 5 in flight and 10 ms each take 2.4 s at least: the 1 s token expires
      with_emu({ "--records", "Deals=1300", "--concurrency-limit", "5", "--latency", "10", "--drop-rate", "0.05",
                 "--fail-rate", "0.05", "--token-ttl", "1", "--random-seed", tostring(seed) }, function(e)
        local c = S.client(e, { access_token = false, accounts_domain = S.url(e), client_id = emu.CLIENT_ID,
                                client_secret = emu.CLIENT_SECRET, refresh_token = emu.REFRESH_TOKEN,
                                token_store = "none",
                                retries = { max_attempts = 8, base_delay = 0.01, max_delay = 0.05 } })
        local ids = S.unlocked(e, "Deals", 1200)
        assert.equals(1200, #ids)
        local eng = assert(engine_multi.new(c, { concurrency = 8, throttle_pause = 0.05 }))
        local done = by_key(run_items(eng, lock_items(ids, "seed " .. seed)))
        local st = eng:stats()
        assert.is_true(st.max_inflight <= 8, "the window holds: " .. st.max_inflight .. " in flight")
        assert.is_true(st.throttled > 0, "the limit of 5 was met")
        assert.is_true(st.token_requests >= 2, "tokens minted as they expired: " .. st.token_requests)
        assert_locked_once(e, ids, done, "seed " .. seed)
        eng:close()
      end)
    end)
  end
end)
