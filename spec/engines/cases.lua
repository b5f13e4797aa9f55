--- The engine conformance cases (the contract in `zlock.engine`), one list for every engine and
-- host: spec/engines/conformance_spec.lua runs them on the C and sequential engines under
-- Lua 5.4, spec/openresty/conformance_spec.lua on nginx's light-thread engine. Each case starts
-- its own zlock-emu; its phases build items here, an `exec` function runs them through the
-- engine (in this process or inside nginx, see spec/engines/drive.lua) and the checks look at
-- what came back and at the emulator's state. (Not a spec: no `_spec` suffix.)
local assert = require "luassert"
local S = require "bulk.support"
local emu = require "helpers.emu"
local drive = require "engines.drive"
local api_requests = require("core.support").api_requests

local unpack = table.unpack or unpack   -- luacheck: compat

local M = {}

-- Client options with the static token (and `retries`, when given).
local function token_client(retries)
  return function(e) return { api_domain = e.url, access_token = emu.ACCESS_TOKEN, retries = retries } end
end

local function lock_items(ids, reason, prefix)
  local items = {}
  for i, id in ipairs(ids) do
    items[i] = { key = (prefix or "") .. id, op = "lock", module = "Deals", record_id = id, reason = reason }
  end
  return items
end

-- Every id holds exactly one lock: the one its item (out[prefix .. id]) reports, with `reason`.
local function assert_locked_once(e, ids, out, reason, prefix)
  local _, by = S.locks(e)
  local reconciled = 0
  for _, id in ipairs(ids) do
    local d = assert(out[(prefix or "") .. id], "item never returned: " .. id)
    assert(d.result, "item failed: " .. tostring(d.err and d.err.code))
    assert.equals(1, by[id] and #by[id] or 0, "locks on " .. id)
    assert.equals(by[id][1].lock_id, d.result.id)
    assert.equals(reason, by[id][1].reason)
    if d.result.reconciled then reconciled = reconciled + 1 end
  end
  return reconciled
end

M.list = {
  {
    name = "all four ops give the blocking calls' results, and errors per item",
    emu = { "--records", "Deals=40" },
    client = token_client(),
    engine_opts = { concurrency = 4 },
    setup = function(e, ctx) ctx.ids = S.unlocked(e, "Deals", 6) end,
    phases = {
      function(_, ctx)
        local r = ctx.ids
        return {
          { key = "lock1", op = "lock", module = "Deals", record_id = r[1], reason = "conformance" },
          { key = "lock2", op = "lock", module = "Deals", record_id = r[2], reason = "conformance" },
          { key = "lock3", op = "lock", module = "Deals", record_id = r[3], reason = "conformance" },
          { key = "list_none", op = "get", module = "Deals", record_id = r[4] },
          { key = "unlock_none", op = "unlock", module = "Deals", record_id = r[5] },
          { key = "bad_op", op = "frobnicate", module = "Deals", record_id = r[6] },
        }
      end,
      function(_, ctx)
        local r, l1 = ctx.ids, ctx.lock1
        return {
          { key = "update", op = "update", module = "Deals", record_id = r[1], lock_id = l1, reason = "conformance 2" },
          { key = "unlock2", op = "unlock", module = "Deals", record_id = r[2], lock_id = ctx.lock2 },
          { key = "unlock3", op = "unlock", module = "Deals", record_id = r[3] },
          { key = "again", op = "lock", module = "Deals", record_id = r[1], reason = "conformance" },
        }
      end,
      function(_, ctx)
        local r = ctx.ids
        return {
          { key = "one", op = "get", module = "Deals", record_id = r[1], lock_id = ctx.lock1 },
          { key = "list", op = "get", module = "Deals", record_id = r[1] },
        }
      end,
    },
    checks = {
      function(e, ctx, out)
        local _, by = S.locks(e)
        for i = 1, 3 do
          local d = out["lock" .. i]
          assert(d.result, "lock" .. i .. " failed: " .. tostring(d.err and d.err.code))
          assert.is_nil(d.err)
          assert.matches("^%d+$", d.result.id)
          assert.equals(d.result.id, d.result.details.id)
          assert.equals(by[ctx.ids[i]][1].lock_id, d.result.id)
        end
        ctx.lock1, ctx.lock2 = out.lock1.result.id, out.lock2.result.id
        ctx.lock3 = out.lock3.result.id
        assert.same({}, out.list_none.result)
        assert.is_nil(out.list_none.err)
        assert.is_nil(out.unlock_none.result)
        assert.equals("NOT_LOCKED", out.unlock_none.err.code)
        assert.is_nil(out.bad_op.result)
        assert.equals("INVALID_ARGUMENT", out.bad_op.err.code)
        -- the core's outcomes, the same on every engine
        assert.equals("locked", out.lock1.outcome)
        assert.equals("got", out.list_none.outcome)
        assert.equals("failed", out.bad_op.outcome)
      end,
      function(e, ctx, out)
        assert.equals(ctx.lock1, out.update.result.details.id)
        assert.equals(ctx.lock2, out.unlock2.result.details.id)
        assert.equals(ctx.lock3, out.unlock3.result.details.id)
        assert.is_nil(out.again.result)
        assert.equals("NOT_ALLOWED", out.again.err.code)
        assert.equals(403, out.again.err.http_status)
        assert.equals("already_locked", out.again.outcome)
        assert.equals("updated", out.update.outcome)
        assert.equals("unlocked", out.unlock2.outcome)
        assert.equals("unlocked", out.unlock3.outcome)
        local _, by = S.locks(e)
        assert.equals("conformance 2", by[ctx.ids[1]][1].reason)
        assert.is_nil(by[ctx.ids[2]])
        assert.is_nil(by[ctx.ids[3]])
      end,
      function(e, ctx, out)
        local c = S.client(e)
        assert.same(drive.plain(assert(c:get("Deals", ctx.ids[1], ctx.lock1))), out.one.result)
        assert.same(drive.plain((c:get("Deals", ctx.ids[1]))), out.list.result)
        c:close()
      end,
    },
  },

  {
    name = "429s are retried: every item succeeds once",
    emu = { "--records", "Deals=40", "--concurrency-limit", "1", "--latency", "300" },
    -- enough attempts for 5 items of 300 ms behind one place: the core's retries alone carry
    -- them (restarting a call that ran out of attempts is the C engine's alone)
    client = token_client{ max_attempts = 30, base_delay = 0.05, max_delay = 0.3 },
    engine_opts = { concurrency = 4, throttle_pause = 0.05 },
    setup = function(e, ctx)
      ctx.ids = S.unlocked(e, "Deals", 5)
      -- a request of someone else holds the only place for 300 ms: the first requests meet 429
      ctx.holder = e:hold(S.unlocked(e, "Deals", 6)[6])
      e:wait_in_flight(1)
      return function() ctx.holder:close() end
    end,
    phases = { function(_, ctx) return lock_items(ctx.ids, "conformance 429") end },
    checks = {
      function(e, ctx, out)
        assert_locked_once(e, ctx.ids, out, "conformance 429")
        assert.is_true(e:stats().too_many_requests > 0, "no 429 met: the case proves nothing")
      end,
    },
  },

  {
    name = "lost replies are reconciled: each record ends with exactly its item's lock, then none",
    emu = { "--records", "Deals=60", "--drop-rate", "0.3", "--random-seed", "3" },
    client = token_client{ max_attempts = 10, base_delay = 0.01, max_delay = 0.05 },
    engine_opts = { concurrency = 4 },
    setup = function(e, ctx) ctx.ids = S.unlocked(e, "Deals", 40) end,
    phases = {
      function(_, ctx) return lock_items(ctx.ids, "conformance lost") end,
      function(_, ctx)
        local items = {}
        for i, id in ipairs(ctx.ids) do
          items[i] = { key = "u" .. id, op = "unlock", module = "Deals", record_id = id, lock_id = ctx.lock[id] }
        end
        return items
      end,
    },
    checks = {
      function(e, ctx, out)
        local reconciled = assert_locked_once(e, ctx.ids, out, "conformance lost")
        assert.is_true(reconciled >= 1, "no lock landed with a lost reply: the case proves nothing")
        ctx.lock = {}
        for _, id in ipairs(ctx.ids) do ctx.lock[id] = out[id].result.id end
      end,
      function(e, ctx, out)
        for _, id in ipairs(ctx.ids) do
          local d = out["u" .. id]
          assert(d.result, "unlock failed: " .. tostring(d.err and d.err.code))
        end
        local _, by = S.locks(e)
        for _, id in ipairs(ctx.ids) do assert.is_nil(by[id], "lock left on " .. id) end
      end,
    },
  },

  {
    name = "one token refresh serves every item in flight; an expired token is refreshed",
    emu = { "--records", "Deals=60", "--latency", "20" },
    client = function(e)
      return { api_domain = e.url, accounts_domain = e.url, client_id = emu.CLIENT_ID,
               client_secret = emu.CLIENT_SECRET, refresh_token = emu.REFRESH_TOKEN }
    end,
    engine_opts = { concurrency = 8 },
    setup = function(e, ctx)
      ctx.ids = S.unlocked(e, "Deals", 40)
      ctx.minted = e:stats().tokens_minted
    end,
    phases = {
      function(_, ctx)
        local items = {}
        for i = 1, 20 do
          items[i] = { key = "g" .. i, op = "get", module = "Deals", record_id = ctx.ids[i] }
        end
        return items
      end,
      function(e, ctx)
        assert(e:faults{ revoke_tokens = true })   -- every token minted so far answers 401 now
        ctx.minted = e:stats().tokens_minted
        return lock_items({ unpack(ctx.ids, 21, 40) }, "conformance token")
      end,
    },
    checks = {
      function(e, ctx, out)
        for i = 1, 20 do assert(out["g" .. i].result, tostring(out["g" .. i].err and out["g" .. i].err.code)) end
        assert.equals(ctx.minted + 1, e:stats().tokens_minted)
      end,
      function(e, ctx, out)
        assert_locked_once(e, { unpack(ctx.ids, 21, 40) }, out, "conformance token")
        assert.equals(ctx.minted + 1, e:stats().tokens_minted)
      end,
    },
  },

  {
    name = "spent API credits halt the run: the rest fail with CREDITS_EXHAUSTED, none vanishes",
    emu = { "--records", "Deals=80", "--credits", "12", "--credits-window", "3600" },
    client = token_client(),
    engine_opts = { concurrency = 4 },
    runner = true,
    setup = function(e, ctx)
      ctx.ids = S.unlocked(e, "Deals", 30)
      ctx.before = api_requests(e)
    end,
    phases = { function(_, ctx) return lock_items(ctx.ids, "conformance credits") end },
    checks = {
      function(e, ctx, out, run)
        local locked, failed = 0, 0
        for _, id in ipairs(ctx.ids) do
          local d = out[id]
          if d.outcome == "locked" then
            locked = locked + 1
          else
            assert.equals("failed", d.outcome)
            assert.equals("CREDITS_EXHAUSTED", d.err.code)
            failed = failed + 1
          end
        end
        assert.is_true(locked > 0 and locked <= 12, locked .. " locked with 12 credits")
        assert.equals(#ctx.ids, locked + failed)
        assert.equals("CREDITS_EXHAUSTED", run.summary.halted and run.summary.halted.code)
        local sent = api_requests(e) - ctx.before
        assert.is_true(sent <= 12 + 4 + 2, sent .. " requests for 12 credits")
        local _, by = S.locks(e)
        local held = 0
        for _, id in ipairs(ctx.ids) do held = held + (by[id] and #by[id] or 0) end
        assert.equals(locked, held)
      end,
    },
  },
}

--- Runs one case on engine `engine_name`; `exec(e, client_opts, job)` runs a job (see
-- `drive.run`) and returns its output.
function M.run(case, engine_name, exec)
  local e = S.start(case.emu)
  local ctx, cleanup = {}, nil
  local ok, why = pcall(function()
    if case.setup then cleanup = case.setup(e, ctx) end
    for i, phase in ipairs(case.phases) do
      local job = { engine = engine_name, engine_opts = case.engine_opts, items = phase(e, ctx),
                    runner = case.runner }
      local run = exec(e, case.client(e), job)
      assert.equals(engine_name, run.stats.engine)
      case.checks[i](e, ctx, run.results, run)
    end
  end)
  if cleanup then cleanup() end
  e:stop()
  assert(ok, why)
end

return M
