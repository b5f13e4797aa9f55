-- Retries and authentication: 500s and dropped replies retried; a lock whose reply
-- was lost leaves exactly one lock; the OAuth refresh flow with the demo client (accounts domain
-- = the emulator), token expiry mid-run refreshing exactly once (emulator stats: tokens minted),
-- token-endpoint errors as TOKEN errors, the on_retry hook, and no secret in any error text.
local support = require "core.support"
local socket = require "socket"
local org = support.org
local emu = support.emu

local FAST = { max_attempts = 10, base_delay = 0.001, max_delay = 0.01 }

local SECRETS = { emu.ACCESS_TOKEN, emu.REFRESH_TOKEN, emu.CLIENT_SECRET }

local function assert_no_secret(err, extra)
  local text = support.error_text(err)
  for _, s in ipairs(SECRETS) do
    assert.is_nil(text:find(s, 1, true), "a secret appears in the error: " .. text)
  end
  for _, s in ipairs(extra or {}) do
    assert.is_nil(text:find(s, 1, true), "a secret appears in the error: " .. text)
  end
end

describe("retries", function()
  it("500 INTERNAL_ERROR replies are retried until an answer comes (fail rate 0.3)", function()
    local e = support.start{ "--random-seed", "7" }
    local ok, why = pcall(function()
      local c = support.client(e, { retries = FAST })
      local rid = org.fresh(e, "Leads")
      e:faults{ fail_rate = 0.3 }
      local before500 = support.status_count(e, 500)
      for i = 1, 20 do
        local all, info = c:get("Leads", rid)
        assert(all, "call " .. i .. ": " .. tostring(info))
        assert.same({}, all)
      end
      local seen = support.status_count(e, 500) - before500
      assert.is_true(seen > 0, "the emulator sent no 500 at all: the spec proves nothing")
    end)
    e:stop()
    assert(ok, why)
  end)

  it("the attempts are bounded: max_attempts = 3 sends exactly 3 requests to an always-failing server", function()
    local e = support.start{ "--fail-rate", "1" }
    finally(function() e:stop() end)
    local c = support.client(e, { retries = { max_attempts = 3, base_delay = 0.001, max_delay = 0.005 } })
    local before = support.api_requests(e)
    local res, err = c:get("Leads", "1234567890123456789")
    assert.is_nil(res)
    assert.equals("INTERNAL_ERROR", err.code)
    assert.equals(before + 3, (support.api_requests(e)))
  end)

  it("the retry time is bounded: max_time stops retries long before max_attempts", function()
    local e = support.start{ "--fail-rate", "1" }
    finally(function() e:stop() end)
    local c = support.client(e, { retries = { max_attempts = 1000, base_delay = 0.05, max_delay = 0.05,
                                              max_time = 0.3 } })
    local before = support.api_requests(e)
    local res, err = c:get("Leads", "1234567890123456789")
    local sent = support.api_requests(e) - before
    assert.is_nil(res)
    assert.equals("INTERNAL_ERROR", err.code)
    assert.is_true(sent >= 2, "not retried at all")
    assert.is_true(sent < 100, sent .. " requests: max_time ignored")
  end)

  it("429 TOO_MANY_REQUESTS (the concurrency limit) is retried (two attempts reach the server)", function()
    local e = support.start{ "--concurrency-limit", "1" }
    local holder
    finally(function()
      if holder then holder:close() end
      e:stop("KILL")   -- the holder's thread still sleeps: no need to wait for it
    end)
    local c = support.client(e, { retries = { max_attempts = 2, base_delay = 0.001, max_delay = 0.005 } })
    -- a request that sleeps 30 s in the emulator holds its only place
    e:faults{ latency_ms = 30000 }
    holder = e:hold("1234567890123456789")
    e:wait_in_flight(1)
    e:faults{ latency_ms = 0 }
    local before = support.status_count(e, 429)
    local res, err = c:get("Leads", "1234567890123456789")
    assert.is_nil(res)
    assert.equals("TOO_MANY_REQUESTS", err.code)
    assert.is_true(err.retryable)
    assert.equals(before + 2, (support.status_count(e, 429)))
  end)

  it("connection refused is retried (on_retry sees CONNECT)", function()
    local seen = {}
    local c = assert(require("zlock").new{ api_domain = "http://127.0.0.1:" .. support.closed_port(),
      access_token = emu.ACCESS_TOKEN, retries = { max_attempts = 3, base_delay = 0.001, max_delay = 0.005 },
      on_retry = function(info) seen[#seen + 1] = info.error.code end })
    local res, err = c:get("Leads", "1234567890123456789")
    assert.is_nil(res)
    assert.equals("CONNECT", err.code)
    assert.same({ "CONNECT", "CONNECT" }, seen)
  end)

  it("calls on_retry before each backoff, with the attempt, the delay and the error", function()
    local e = support.start{ "--fail-rate", "0.5", "--random-seed", "7" }
    local ok, why = pcall(function()
      local infos = {}
      local c = support.client(e, { retries = FAST, on_retry = function(info) infos[#infos + 1] = info end })
      local before500 = support.status_count(e, 500)
      for _ = 1, 10 do
        assert(c:get("Leads", "1234567890123456789") == nil) -- INVALID_DATA in the end, after any 500s
      end
      local seen = support.status_count(e, 500) - before500
      assert.is_true(seen > 0, "the emulator sent no 500 at all: the spec proves nothing")
      assert.equals(seen, #infos)
      for _, info in ipairs(infos) do
        assert.is_number(info.attempt)
        assert.is_true(info.attempt >= 1)
        assert.is_number(info.delay)
        assert.is_true(info.delay >= 0)
        assert.equals("INTERNAL_ERROR", info.error.code)
        assert.equals(500, info.error.http_status)
        assert.equals("get", info.operation)
        assert.equals("Leads", info.module)
        assert.equals("1234567890123456789", info.record_id)
      end
    end)
    e:stop()
    assert(ok, why)
  end)

  it("on_retry returning false stops the retries: one request, err CANCELLED or the 500", function()
    local e = support.start{ "--fail-rate", "1" }
    local ok, why = pcall(function()
      local calls = 0
      local c = support.client(e, { retries = FAST, on_retry = function() calls = calls + 1; return false end })
      local before = support.api_requests(e)
      local res, err = c:get("Leads", "1234567890123456789")
      assert.is_nil(res)
      assert.is_table(err)
      assert.is_true(err.code == "CANCELLED" or err.code == "INTERNAL_ERROR", tostring(err))
      assert.equals(1, calls)
      assert.equals(before + 1, (support.api_requests(e)))
    end)
    e:stop()
    assert(ok, why)
  end)

  it("dropped replies (connection closed, no answer) are retried for get and update", function()
    local e = support.start{ "--random-seed", "7" }
    local ok, why = pcall(function()
      local c = support.client(e, { retries = FAST })
      local rid = org.fresh(e, "Leads")
      local lock = assert(c:lock("Leads", rid, "dropped gets"))
      e:faults{ drop_rate = 0.25 }
      for i = 1, 20 do
        local all, info = c:get("Leads", rid)
        assert(all, "call " .. i .. ": " .. tostring(info))
        assert.equals(lock.id, all[1].id)
      end
      for i = 1, 10 do -- PUT is idempotent: re-sent as it is
        local res, err = c:update("Leads", rid, lock.id, "update " .. i)
        assert(res, "update " .. i .. ": " .. tostring(err))
      end
      local stats = e:stats()
      e:faults{ drop_rate = 0 }
      assert.is_true((stats.drops or 0) > 0, "the emulator dropped nothing: the spec proves nothing")
      assert.equals("update 10", org.locks(e, "Leads", rid)[1].Locked_Reason__s)
    end)
    e:stop()
    assert(ok, why)
  end)

  it("a lock whose reply was dropped leaves exactly one lock, and zlock returns that lock", function()
    local e = support.start{ "--random-seed", "7" }
    local ok, why = pcall(function()
      local c = support.client(e, { retries = FAST })
      local rids = {}
      for i = 1, 30 do rids[i] = org.fresh(e, "Leads") end
      e:faults{ drop_rate = 0.25 }
      local got, reconciled = {}, 0
      for i, rid in ipairs(rids) do
        local lock, err = c:lock("Leads", rid, "lost reply " .. i)
        assert(lock, rid .. ": " .. tostring(err))
        got[rid] = lock.id
        if lock.reconciled then reconciled = reconciled + 1 end
      end
      local stats = e:stats()
      e:faults{ drop_rate = 0 }
      assert.is_true((stats.drops_after_apply or 0) > 0,
        "no reply was dropped after the lock was applied: the spec proves nothing")
      assert.is_true(reconciled > 0, "no lock came back reconciled (lock.reconciled) after a lost reply")
      for i, rid in ipairs(rids) do
        local server = org.locks(e, "Leads", rid)
        assert.equals(1, #server, rid .. " has " .. #server .. " locks")
        assert.equals(got[rid], server[1].id)
        assert.equals("lost reply " .. i, server[1].Locked_Reason__s)
        local in_state = support.state_locks(e, "Leads", rid)
        assert.equals(1, #in_state)
        assert.equals(got[rid], in_state[1].lock_id)
      end
    end)
    e:stop()
    assert(ok, why)
  end)

  it("lock and unlock replies cut after the headers (--drop-mode headers): one lock, then none", function()
    local e = support.start{ "--random-seed", "11", "--drop-mode", "headers" }
    finally(function() e:stop() end)
    local c = support.client(e, { retries = FAST })
    local rids = {}
    for i = 1, 30 do rids[i] = org.fresh(e, "Leads") end
    e:faults{ drop_rate = 0.25 }
    local got = {}
    for i, rid in ipairs(rids) do
      local lock, err = c:lock("Leads", rid, "cut reply " .. i)
      assert(lock, rid .. ": " .. tostring(err))
      got[rid] = lock.id
    end
    for _, rid in ipairs(rids) do
      local in_state = support.state_locks(e, "Leads", rid)
      assert.equals(1, #in_state, rid .. " holds " .. #in_state .. " locks")
      assert.equals(got[rid], in_state[1].lock_id)
    end
    for _, rid in ipairs(rids) do
      local res, err = c:unlock("Leads", rid, got[rid])
      assert(res, rid .. ": " .. tostring(err))
    end
    local stats = e:stats()
    e:faults{ drop_rate = 0 }
    assert.is_true((stats.drops_after_apply or 0) > 0, "no reply was cut after the change: the spec proves nothing")
    for _, rid in ipairs(rids) do
      assert.same({}, org.locks(e, "Leads", rid))
      assert.equals(0, #support.state_locks(e, "Leads", rid))
    end
  end)

  it("an unlock whose reply was dropped still counts as done", function()
    local e = support.start{ "--random-seed", "7" }
    local ok, why = pcall(function()
      local c = support.client(e, { retries = FAST })
      local rids, locks = {}, {}
      for i = 1, 30 do
        rids[i] = org.fresh(e, "Leads")
        locks[i] = assert(c:lock("Leads", rids[i], "to be unlocked")).id
      end
      e:faults{ drop_rate = 0.25 }
      for i, rid in ipairs(rids) do
        local res, err = c:unlock("Leads", rid, locks[i])
        assert(res, rid .. ": " .. tostring(err))
        assert.equals(locks[i], res.id)
      end
      local stats = e:stats()
      e:faults{ drop_rate = 0 }
      assert.is_true((stats.drops_after_apply or 0) > 0, "no reply dropped after an unlock: the spec proves nothing")
      for _, rid in ipairs(rids) do
        assert.same({}, org.locks(e, "Leads", rid))
      end
    end)
    e:stop()
    assert(ok, why)
  end)
end)

describe("authentication", function()
  local e

  lazy_setup(function()
    e = support.start()
  end)

  lazy_teardown(function()
    if e then e:stop() end
  end)

  it("the refresh flow mints one token for many calls", function()
    local before = support.tokens_minted(e)
    local c = support.oauth_client(e, { retries = FAST })
    for _ = 1, 5 do
      local all, err = c:get("Leads", org.fresh(e, "Leads"))
      assert(all, tostring(err))
    end
    assert.equals(before + 1, (support.tokens_minted(e)))
  end)

  it("a token expiring mid-run (emulator --token-ttl 2) is refreshed exactly once for the calls after it", function()
    local ex = support.start{ "--token-ttl", "2" }
    local ok, why = pcall(function()
      local c = support.oauth_client(ex, { retries = FAST })
      local rid = org.fresh(ex, "Leads")
      local before = support.tokens_minted(ex)
      assert(c:get("Leads", rid))
      assert.equals(before + 1, (support.tokens_minted(ex)))
      socket.sleep(2.3) -- past the token's life
      for i = 1, 8 do
        local all, err = c:get("Leads", rid)
        assert(all, "call " .. i .. ": " .. tostring(err))
      end
      assert.equals(before + 2, (support.tokens_minted(ex)))
      if c.info then assert.equals(2, c:info().refreshes) end
    end)
    ex:stop()
    assert(ok, why)
  end)

  it("8 calls in flight on one client when the token expires: exactly one refresh", function()
    local probe = support.client(e)
    if type(probe.bulk_engine) ~= "function" then
      pending("the client has no concurrent engine yet (c:bulk_engine); its calls are sequential")
      return
    end
    local ex = support.start{ "--token-ttl", "2", "--latency", "150" }
    local ok, why = pcall(function()
      local c = support.oauth_client(ex, { retries = FAST })
      local rids = {}
      for i = 1, 8 do rids[i] = org.fresh(ex, "Leads") end
      local eng = assert(c:bulk_engine{ concurrency = 8 })
      local function run_all()
        for i, rid in ipairs(rids) do eng:submit{ op = "get", module = "Leads", record_id = rid, key = "k" .. i } end
        local done, results = 0, {}
        while done < #rids do
          for _, d in ipairs(eng:poll(0.5)) do
            done = done + 1
            results[#results + 1] = d
          end
        end
        return results
      end
      -- warm-up: mints the first token and lets the engine's window grow to 8
      for _ = 1, 3 do run_all() end
      local before = support.tokens_minted(ex)
      socket.sleep(2.3) -- the token is now past its life
      for _, d in ipairs(run_all()) do
        assert(d.result, "an item failed: " .. tostring(d.err))
      end
      assert.equals(before + 1, (support.tokens_minted(ex)))
      assert.is_true(ex:stats().max_in_flight >= 8, "never 8 calls in flight: the spec proves nothing")
      eng:close()
    end)
    ex:stop()
    assert(ok, why)
  end)

  it("a rejected access token with refresh credentials: one refresh, then the call succeeds", function()
    local c = support.oauth_client(e, { access_token = "1000.stale-token", retries = FAST })
    local before = support.tokens_minted(e)
    local all, err = c:get("Leads", org.fresh(e, "Leads"))
    assert(all, tostring(err))
    assert.equals(before + 1, (support.tokens_minted(e)))
  end)

  it("tokens revoked mid-run (401 INVALID_TOKEN): one refresh, then the call succeeds", function()
    local c = support.oauth_client(e, { retries = FAST })
    local rid = org.fresh(e, "Leads")
    assert(c:get("Leads", rid))
    local before = support.tokens_minted(e)
    e:faults{ revoke_tokens = true }
    local all, err = c:get("Leads", rid)
    assert(all, tostring(err))
    assert.equals(before + 1, (support.tokens_minted(e)))
    assert(c:get("Leads", rid))
    assert.equals(before + 1, (support.tokens_minted(e)))
    e:reset()
  end)

  it("a revoked static token without refresh credentials: INVALID_TOKEN after exactly one request", function()
    local c = support.client(e, { retries = FAST })
    local rid = org.fresh(e, "Leads")
    e:faults{ revoke_tokens = true }
    local before = support.api_requests(e)
    local res, err = c:get("Leads", rid)
    local after = support.api_requests(e)
    e:reset()
    assert.is_nil(res)
    assert.equals("INVALID_TOKEN", err.code)
    assert.equals(401, err.http_status)
    assert.equals(before + 1, after)
    assert_no_secret(err)
  end)

  it("a wrong client secret: TOKEN error, no secret in it, not retried as a token storm", function()
    local wrong = "wrong-secret-" .. tostring(os.time())
    local c = support.oauth_client(e, { client_secret = wrong, retries = FAST })
    local before = support.tokens_minted(e)
    local res, err = c:get("Leads", "1234567890123456789")
    assert.is_nil(res)
    assert.equals("TOKEN", err.code)
    assert.matches("invalid_client", support.error_text(err), 1, true)
    assert_no_secret(err, { wrong })
    assert.equals(before, (support.tokens_minted(e)))
  end)

  it("a wrong refresh token: TOKEN error naming Zoho's invalid_code, no secret in it", function()
    local wrong = "1000.wrong-refresh-token-" .. tostring(os.time())
    local c = support.oauth_client(e, { refresh_token = wrong, retries = FAST })
    local res, err = c:get("Leads", "1234567890123456789")
    assert.is_nil(res)
    assert.equals("TOKEN", err.code)
    assert.matches("invalid_code", support.error_text(err), 1, true)
    assert_no_secret(err, { wrong })
  end)

  it("refresh throttling (over 10 tokens in 10 minutes): TOKEN error with Zoho's Access Denied", function()
    local et = support.start()
    local ok, why = pcall(function()
      local last_err
      for _ = 1, 12 do
        local c = support.oauth_client(et, { retries = { max_attempts = 1 } })
        local res, err = c:get("Leads", "1234567890123456789")
        assert.is_nil(res)
        last_err = err
        if err.code == "TOKEN" then break end
        assert.equals("INVALID_DATA", err.code)
        c:close()
      end
      assert.equals("TOKEN", last_err.code)
      assert.matches("Access Denied", support.error_text(last_err), 1, true)
      assert_no_secret(last_err)
      assert.equals(10, (support.tokens_minted(et)))
    end)
    et:stop()
    assert(ok, why)
  end)

  it("no error of a token-less client shows the refresh token or secret", function()
    local c = support.oauth_client(e, { accounts_domain = "http://127.0.0.1:" .. support.closed_port(),
                                        retries = { max_attempts = 1 } })
    local res, err = c:get("Leads", "1234567890123456789")
    assert.is_nil(res)
    assert.is_table(err)
    assert.is_true(err.code == "TOKEN" or err.code == "CONNECT", tostring(err))
    assert_no_secret(err)
  end)
end)
