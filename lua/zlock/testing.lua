--- Test your own policies with busted: a zlock-emu per spec, policy runs as `zlock run` does
-- them, and assertions on the locks.
--
--     local testing = require "zlock.testing"
--     local emu = testing.emulator{ seed = {
--       modules = { Deals = { records = {
--         { id = "1001", Deal_Name = "Old loss", Stage = "Closed Lost", Closing_Date = "2025-01-10" } } } } } }
--     local s = testing.run_policy("lock_closed_lost.lua", { emulator = emu, dry_run = true })
--     -- s.plan[1].record_id == "1001", s.counts.planned == 1
--     testing.run_policy("lock_closed_lost.lua", { emulator = emu })
--     assert.locked(emu, "Deals", "1001", "Closed Lost on 2025-01-10: locked by policy lock_closed_lost")
--     emu:stop()
--
-- zlock-emu must be installed (it is, with zlock, when libmicrohttpd and jansson were there at
-- install time); see `zlock.testing.emulator.find` for where it is looked for.
-- @module zlock.testing
local emulator = require "zlock.testing.emulator"
local run = require "zlock.testing.run"
local fixture = require "zlock.testing.fixture"

local M = {}

--- Starts zlock-emu on a free loopback port.
-- @tparam[opt] table opts
--  `seed`: `"demo"` (default: 240 deals, leads, accounts, contacts, a locking configuration),
--  `"empty"`, a fixture file name (JSON, see zlock-emu's README), or a fixture table (see
--  `zlock.testing.fixture`);
--  `records` (`{ Deals = 500 }`: generated records per module), `latency` (ms, or "MS:JITTER"),
--  `concurrency_limit`, `fail_rate` and `drop_rate` (0..1), `drop_mode` ("close"|"headers"),
--  `random_seed` (fault dice), `credits`, `credits_window`, `token_ttl`, `state` (file),
--  `access_token`, `verbose`, `bin` (the zlock-emu to run), `args` (more command-line flags).
--  An unknown option is an error.
-- @return the emulator: `url`, `access_token`, `pid`, and the methods `client(opts)` (a
--  `zlock.new` client on it), `state([module])`, `faults(t)`, `reset()`, `stats()`, `stop()`,
--  `running()`, `stderr()`. It is stopped by `stop()`, when garbage collected, and by itself
--  when this process ends. Raises when zlock-emu cannot be found or does not start (a bad
--  fixture: the message says what is wrong).
function M.emulator(opts)
  return emulator.start(opts)
end

--- Inside a busted `describe` block: an emulator started before the block's first test
-- (`lazy_setup`), put back to its seed before each test (`before_each`) and stopped after the
-- block (`lazy_teardown`). Returns a stand-in usable wherever the emulator is (`run_policy`'s
-- `emulator`, `assert.locked`, `emu:state()`, ...) once the block runs.
--
--     describe("my policy", function()
--       local emu = testing.describe_emulator{ seed = fixture }
--       it("...", function() testing.run_policy("my_policy.lua", { emulator = emu }) end)
--     end)
-- @tparam[opt] table opts as for `emulator`
-- @return the stand-in
function M.describe_emulator(opts)
  local ok, busted = pcall(require, "busted")   -- busted's API (spec files see it as globals)
  local hook = {}
  for _, name in ipairs{ "lazy_setup", "lazy_teardown", "before_each" } do
    hook[name] = ok and type(busted) == "table" and busted[name]
    if type(hook[name]) ~= "function" then error("describe_emulator: call it inside a busted describe block", 2) end
  end
  local live
  hook.lazy_setup(function() live = M.emulator(opts) end)
  hook.lazy_teardown(function() if live then live:stop() end end)
  hook.before_each(function() live:reset() end)
  return setmetatable({}, { __index = function(_, k)
    if not live then error("describe_emulator: the emulator starts with the block's first test", 2) end
    local v = live[k]
    if type(v) == "function" then return function(_, ...) return v(live, ...) end end
    return v
  end })
end

--- Runs a policy through the code of `zlock run` and returns the summary its JSON output holds.
-- @param policy a policy file name, or a policy table
-- @tparam table opts
--  `client` (a zlock client) or `emulator` (an emulator: a client on it is made and closed),
--  `dry_run`, `params` (name -> value, as `--param`), `env` (true: also read `ZLOCK_<NAME>`
--  from the environment, as the command does; default false), `journal` (file name: resumes
--  like `--journal`), `concurrency`, `now` (os.time() value the policy's dates count from),
--  `out` (stream of a report policy's rows), `interrupt`:
--  `{ after = N }` stops submitting after N items, `{ chance = P, random_seed = S }` stops at
--  random (each item with probability P); `mode = "stop"` (default: like Ctrl-C, the items in
--  flight finish and are journaled) or `"crash"` (like `kill -9`: their calls are made but
--  nothing about them is recorded). The summary then has `interrupted = true`; run again with
--  the same `journal` to resume.
-- @treturn table|nil the summary: `policy`, `action`, `dry_run`, `selected`, `matched`,
--  `counts` (by outcome), `failures`, `plan` (every item: `record_id`, `action`, `reason`,
--  `why`, `name`, `outcome`; `zlock run --json` lists it on dry runs only), `reconciled`,
--  `halted`, `interrupted`, `elapsed`, `rate`, `engine`
-- @treturn string|nil the error when the policy or its parameters are refused
function M.run_policy(policy, opts)
  return run.run_policy(policy, opts)
end

--- Locks of an admin state (`emu:state()`) by record id: record id -> list of locks.
-- @tparam table state
-- @treturn table
function M.locks_by_record(state)
  local by = {}
  for _, l in ipairs(state.locks or {}) do
    local list = by[l.record_id]
    if not list then list = {}; by[l.record_id] = list end
    list[#list + 1] = l
  end
  return by
end

--- What a run planned (or did), by record: record id -> the item's reason, or its action when
-- it has none (unlock). Compare it with the records the policy should pick:
-- `assert.same({ ["1001"] = "closed lost" }, testing.planned(s))`.
-- @tparam table summary what `run_policy` returned
-- @treturn table
function M.planned(summary)
  local out = {}
  for _, item in ipairs(summary.plan or {}) do out[item.record_id] = item.reason or item.action end
  return out
end

--- The reason of every locked record of a module, from the emulator's state: record id ->
-- reason (automatic locks: the empty string). Compare it with what the org should hold after a
-- run, untouched locks included: `assert.same(want, testing.lock_reasons(emu, "Deals"))`.
-- Raises when a record holds more than one lock (Zoho holds at most one).
-- @param emu an emulator
-- @tparam string module
-- @treturn table
function M.lock_reasons(emu, module)
  local out = {}
  for id, locks in pairs(M.locks_by_record(emu:state(module))) do
    if #locks > 1 then error(("record %s holds %d locks"):format(id, #locks), 2) end
    local r = locks[1].reason
    out[id] = type(r) == "string" and r or ""
  end
  return out
end

--- The UTC date `days` days before now (or before `now`), as Zoho writes dates: "YYYY-MM-DD".
-- For fixtures whose policies count days (`ctx.days_since`).
-- @tparam number days
-- @tparam[opt] number now os.time() value
-- @treturn string
function M.date(days, now)
  return os.date("!%Y-%m-%d", (now or os.time()) - days * 86400)
end

--- A fixture table as the JSON text zlock-emu reads from a seed file.
-- @tparam table t
-- @treturn string
function M.fixture_json(t)
  return fixture.encode(t)
end

--- Adds `assert.locked(emu, module, record_id[, reason])` (and `assert.is_not.locked`) to
-- luassert. Done by `require "zlock.testing"` when luassert is loaded (as under busted).
-- @param[opt] luassert the luassert module (default: `require "luassert"`)
function M.register_assertions(luassert)
  require("zlock.testing.assertions").register(luassert or require "luassert")
end

if package.loaded["luassert"] then M.register_assertions(package.loaded["luassert"]) end

return M
