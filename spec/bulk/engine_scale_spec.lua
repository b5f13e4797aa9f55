-- The bulk engine's scale scenarios, through the bulk runner on the C engine, against zlock-emu over real
-- sockets: an org at its concurrency limit, a limit the client is not told, and a faulty server
-- with short-lived tokens. Each checks the emulator's final state lock by lock.
local S = require "bulk.support"
local emu = require "helpers.emu"
local engine_multi = require "zlock.engine_multi"
local bulk = require "zlock.bulk"
local socket = require "socket"

-- Runs `ids` as locks through c:bulk on the C engine. Returns the summary, the per-key count of
-- on_result calls, and the emulator stats seen once one second had passed.
local function run_locks(e, c, ids, reason, conc, extra)
  local eng = assert(engine_multi.new(c, { concurrency = conc }))
  local seen, at1 = {}, nil
  local t0 = socket.gettime()
  local run = c:bulk{
    engine = eng,
    on_result = function(item) local k = bulk.key(item); seen[k] = (seen[k] or 0) + 1 end,
    progress = function() if not at1 and socket.gettime() - t0 >= 1 then at1 = e:stats() end end,
  }
  for _, id in ipairs(ids) do run:lock("Deals", id, reason) end
  for _, id in ipairs(extra or {}) do run:lock("Deals", id, reason) end
  local sum = run:finish()
  return sum, seen, at1
end

local function assert_each_once(seen, ids, extra)
  local n = 0
  for _, id in ipairs(ids) do
    assert.equals(1, seen["lock|Deals|" .. id], "on_result count of " .. id)
    n = n + 1
  end
  for _, id in ipairs(extra or {}) do assert.equals(1, seen["lock|Deals|" .. id]) end
  assert.equals(n + #(extra or {}), S.count(seen))
end

-- Every id holds exactly one lock, ours; `total` locks carry our reason in the whole org.
local function assert_locked_once(e, ids, reason)
  local locks, by = S.locks(e)
  for _, id in ipairs(ids) do
    local l = by[id]
    assert(l, "record " .. id .. " is not locked")
    assert.equals(1, #l)
    assert.equals(reason, l[1].reason)
    assert.equals("Manual", l[1].source)
  end
  local ours = 0
  for _, l in ipairs(locks) do if l.reason == reason then ours = ours + 1 end end
  assert.equals(#ids, ours)
end

describe("bulk at scale on the C engine", function()
  it("--latency 100 --concurrency-limit 10: 1,000 locks exactly once, <= 1% 429s after 1 s", function()
    local e = S.start{ "--records", "Deals=1100", "--latency", "100", "--concurrency-limit", "10" }
    local ok, why = pcall(function()
      local c = S.client(e)
      local ids = S.unlocked(e, "Deals", 1000)
      assert.equals(1000, #ids)
      local before = e:stats()
      local reason = "scale spec at the limit"
      local sum, seen, at1 = run_locks(e, c, ids, reason, 10)
      local after = e:stats()
      assert.equals(1000, sum.counts.locked)
      assert.equals(0, sum.failed)
      assert_each_once(seen, ids)
      assert_locked_once(e, ids, reason)
      assert(at1, "the run took less than a second: nothing measured")
      local reqs = after.total - at1.total
      local throttled = after.too_many_requests - at1.too_many_requests
      assert.is_true(reqs > 500, "only " .. reqs .. " requests after the first second")
      assert.is_true(throttled <= reqs / 100,
        throttled .. " of " .. reqs .. " requests saw 429 after the first second")
      assert.is_true(after.total - before.total >= 1000)
      assert.equals(10, sum.engine.max)
    end)
    e:stop()
    assert(ok, why)
  end)

  it("an unknown limit (--concurrency-limit 15, concurrency = 50): converges below it and finishes exactly", function()
    local e = S.start{ "--records", "Deals=1100", "--latency", "100", "--concurrency-limit", "15" }
    local ok, why = pcall(function()
      local c = S.client(e)
      local ids = S.unlocked(e, "Deals", 1000)
      local reason = "scale spec unknown limit"
      local sum, seen = run_locks(e, c, ids, reason, 50)
      assert.equals(1000, sum.counts.locked)
      assert.equals(0, sum.failed)
      assert_each_once(seen, ids)
      assert_locked_once(e, ids, reason)
      local st = sum.engine
      local seen_st = ("window %d, limit estimate %d, %d 429s, %d cuts, %d requests, max in flight %d"):format(
        st.concurrency, st.limit_estimate, st.throttled, st.cuts, st.requests, st.max_inflight)
      assert.equals(50, st.max)
      assert.is_true(st.throttled > 0, "never met the limit: the spec proves nothing; " .. seen_st)
      -- converged: the window sits at the limit (not at 50, not collapsed), few 429s overall
      assert.is_true(st.limit_estimate >= 12 and st.limit_estimate <= 20, seen_st)
      assert.is_true(st.concurrency >= 7 and st.concurrency <= 20, seen_st)
      assert.is_true(st.throttled <= st.requests * 0.03, seen_st)
      assert.is_true(e:stats().max_in_flight <= 15, "the emulator let more than 15 in")
    end)
    e:stop()
    assert(ok, why)
  end)

  it("--fail-rate 0.1 --drop-rate 0.05 --token-ttl 5 (--latency 20: the run outlives tokens): 5,000 exact", function()
    local e = S.start{ "--records", "Deals=5300", "--fail-rate", "0.1", "--drop-rate", "0.05", "--token-ttl", "5",
                       "--latency", "20" }
    local ok, why = pcall(function()
      S.client(e):close()   -- installs c:bulk on the client class
      local url = S.url(e)
      local c = assert(require("zlock").new{
        api_domain = url, accounts_domain = url,
        client_id = emu.CLIENT_ID, client_secret = emu.CLIENT_SECRET, refresh_token = emu.REFRESH_TOKEN,
        token_store = "none",
        retries = { max_attempts = 12, base_delay = 0.02, max_delay = 0.5 },
      })
      local ids = S.unlocked(e, "Deals", 4950)
      assert.equals(4950, #ids)
      -- 50 records that do not exist: each must fail, with Zoho's reason
      local ghosts = {}
      for i = 1, 50 do ghosts[i] = tostring(9000000000000000000 + i) end
      local reason = "scale spec faults"
      local t0 = socket.gettime()
      local sum, seen = run_locks(e, c, ids, reason, 10, ghosts)
      local elapsed = socket.gettime() - t0
      assert_each_once(seen, ids, ghosts)
      local desc = {}
      for k, v in pairs(sum.counts) do desc[#desc + 1] = k .. "=" .. v end
      for i = 1, math.min(3, #sum.failures) do
        local f = sum.failures[i]
        if not S.set(ghosts)[f.record_id] then desc[#desc + 1] = f.record_id .. ": " .. tostring(f.err) end
      end
      assert.equals(4950, sum.counts.locked, table.concat(desc, ", "))
      assert.equals(50, sum.failed)
      local ghost = S.set(ghosts)
      for _, f in ipairs(sum.failures) do
        assert(ghost[f.record_id], "a real record failed: " .. f.record_id .. " " .. tostring(f.err))
        assert.equals("INVALID_DATA", f.code)
        assert.is_string(f.message)
        assert.is_true(#f.message > 0)
      end
      assert_locked_once(e, ids, reason)
      local st = e:stats()
      assert.is_true(st.faults_500 > 0 and st.drops > 0 and st.drops_after_apply > 0,
        "the faults did not happen: the spec proves nothing")
      assert.is_true(sum.reconciled > 0, "no lost reply was reconciled")
      -- tokens: one refresh at a time for everything in flight, about one per token life
      assert.is_true(st.tokens_minted >= 2, "the token never expired during the run: the spec proves nothing")
      assert.is_true(st.tokens_minted <= math.ceil(elapsed / 4) + 2,
        st.tokens_minted .. " tokens minted in " .. string.format("%.1f", elapsed) .. " s")
      -- every refresh the engine made minted a token (the runner's own blocking calls share them)
      assert.is_true(sum.engine.token_requests >= 1 and sum.engine.token_requests <= st.tokens_minted)
    end)
    e:stop()
    assert(ok, why)
  end)
end)
