--- The `zlock run POLICY.lua` command: a bulk lock policy from the command line, its plan (dry run), its
-- run with progress, and its summary as text or JSON (docs/json.md).
-- @module zlock.cli_run
local cjson = require "cjson.safe"
local json = require "zlock.cli_json"
local out = require "zlock.cli_out"

local M = {}

local OUTCOME_ORDER = { "locked", "already_locked", "updated", "unlocked", "already_unlocked", "got",
                        "planned", "skipped", "failed" }
local OUTCOME_TEXT = { locked = "locked", already_locked = "already locked (left as is)",
                       updated = "reason updated", unlocked = "unlocked", already_unlocked = "already unlocked",
                       got = "read", planned = "planned (dry run)", skipped = "skipped (done, per journal)",
                       failed = "failed" }

-- A report policy writing to stdout keeps stdout for the report: the summary goes to stderr.
local function report_on_stdout(p, params)
  return p.action == "report" and (params.out == nil or params.out == "" or params.out == "-")
end

local function plural(n, word) return ("%d %s%s"):format(n, word, n == 1 and "" or "s") end

local function print_counts(w, p, s)
  w(("Policy: %s%s\n"):format(p.name or p.action, s.dry_run and p.action ~= "report" and "  (dry run)" or ""))
  w(("  %s selected, %d matched\n"):format(plural(s.selected, "record"), s.matched))
  if p.action == "report" then w(("  %s written\n"):format(plural(s.reported or 0, "row"))) end
  for _, k in ipairs(OUTCOME_ORDER) do
    local n = s.counts[k]
    if n and n > 0 and not (p.action == "report" and k == "planned") then
      w(("  %-30s %6d\n"):format(OUTCOME_TEXT[k], n))
    end
  end
  if (s.reconciled or 0) > 0 then
    w(("  (%d found already done by an earlier, interrupted call)\n"):format(s.reconciled))
  end
end

local function print_timing(w, s, opts)
  if s.dry_run then return end
  if s.done - s.skipped > 0 then
    w(("  took %.1f s (%.1f items/s, %s engine, concurrency %s)\n"):format(s.elapsed, s.rate,
      s.engine.engine or "C", tostring(s.engine.max or s.engine.concurrency)))
    local e = s.engine
    if e.fleet_source and e.fleet_source ~= "local" then
      w(("  fleet budget: limit %d (%s), %d sharing it, waited for slots %d times (%.1f s)\n"):format(
        e.fleet_limit or 0, e.fleet_source, e.fleet_holders or 0, e.slot_waits or 0, (e.slot_wait_ms or 0) / 1000))
    end
  end
  if opts.journal then w("  journal: ", opts.journal, "\n") end
end

-- After a halt the items that failed with the halting error are one line, not thousands:
-- returns the failures still to list.
local function print_halt(w, s, opts)
  if not s.halted then return s.failures end
  local listed, halted_n = {}, 0
  for _, f in ipairs(s.failures) do
    if f.code == s.halted.code then halted_n = halted_n + 1 else listed[#listed + 1] = f end
  end
  w(("Stopped sending after %s: %s\n"):format(s.halted.code, tostring(s.halted.message)))
  w(("  %s failed with it (listed with --json)\n"):format(plural(halted_n, "item")))
  if opts.journal then w("  rerun with the same --journal later: it resumes with what was not done\n") end
  return listed
end

local function print_failures(w, s, listed)
  if #listed == 0 then return end
  w(s.halted and "Other failures:\n" or "Failures:\n")
  for i, f in ipairs(listed) do
    if i > 50 then w(("  ... and %d more (use --json)\n"):format(#listed - 50)); break end
    w(("  %s %s/%s: %s\n"):format(f.op, f.module, f.record_id, tostring(f.err or f.message)))
  end
end

--- Prints a run's summary as text (on stderr when stdout carries a report).
-- @tparam table p the policy
-- @tparam table s the run's summary
-- @tparam table opts command-line options
-- @tparam table params the policy's parameters
function M.print_summary(p, s, opts, params)
  local w = report_on_stdout(p, params) and function(...) io.stderr:write(...) end or out.out
  w("\n")
  print_counts(w, p, s)
  print_timing(w, s, opts)
  print_failures(w, s, print_halt(w, s, opts))
end

local function failure_json(f)
  local err = type(f.err) == "table" and f.err or { code = f.code, message = f.message }
  return { op = f.op, module = f.module, record_id = f.record_id, lock_id = f.lock_id or cjson.null,
           error = out.error_object(err) }
end

--- The JSON summary of a run (docs/json.md).
-- @treturn table
function M.summary_json(p, s, dry, plan)
  local fails = json.array()
  for i, f in ipairs(s.failures) do fails[i] = failure_json(f) end
  local counts = {}
  for k, v in pairs(s.counts) do counts[k] = v end
  return { policy = p.name or cjson.null, action = p.action, dry_run = dry, selected = s.selected,
           matched = s.matched, counts = counts, failures = fails, elapsed = s.elapsed, rate = s.rate,
           engine = s.engine, reconciled = s.reconciled or 0, interrupted = s.interrupted and true or false,
           halted = s.halted and out.error_object(s.halted) or cjson.null,
           plan = plan and json.array(plan) or nil, reported = s.reported }
end

local function print_plan(plan)
  local rows = {}
  for _, it in ipairs(plan) do
    if it.outcome == "planned" then rows[#rows + 1] = it end
  end
  if #rows == 0 then out.out("nothing to do\n"); return end
  out.out(out.table({ { "ACTION", "action" }, { "MODULE", "module" }, { "RECORD", "record_id" }, { "NAME", "name" },
                      { "WHY", "why" } }, rows))
end

--- One plan entry of the JSON summary from a finished bulk item (an `on_result` item).
-- @tparam table item
-- @treturn table
function M.plan_item(item)
  return { action = item.op, module = item.module, record_id = item.record_id, lock_id = item.lock_id,
           name = item.name, why = item.why, outcome = item.outcome, reason = item.reason }
end

local function plan_collector(plan)
  return function(item) plan[#plan + 1] = M.plan_item(item) end
end

-- --verbose in a run: the bulk engine (libcurl multi, in C) calls no per-request hook, so one
-- line per finished item: operation, record, outcome, lock id, error.
local function item_logger(next_fn)
  return function(item, result, err)
    local lock_id = type(result) == "table" and result.id or item.lock_id
    io.stderr:write(("zlock: %s %s/%s -> %s%s%s\n"):format(item.op, item.module, tostring(item.record_id),
      tostring(item.outcome), lock_id and (" lock " .. tostring(lock_id)) or "",
      err and (" " .. tostring(type(err) == "table" and err.code or err)) or ""))
    if next_fn then next_fn(item, result, err) end
  end
end

local function exit_status(s, opts)
  -- failures no item carries: the journal or the report could not be written
  if s.journal_error then io.stderr:write("zlock: ", tostring(s.journal_error), "\n") end
  if s.write_error then io.stderr:write("zlock: ", s.write_error, "\n") end
  if s.interrupted then
    io.stderr:write("zlock: interrupted after ", tostring(s.done), " items",
      opts.journal and ("; they are in " .. opts.journal .. ": run the same command again to resume") or "", "\n")
    return 130
  end
  return (s.failed == 0 and not s.journal_error and not s.write_error) and 0 or 1
end

local function run(ctx)
  local policy = require "zlock.policy"
  local p, params, opts = ctx.policy, ctx.params, ctx.opts
  local dry = opts.dry_run and true or false
  local show_plan = dry and p.action ~= "report"
  local plan = show_plan and {} or nil
  local s, rerr = policy.run(ctx.client, p, {
    params = params, dry_run = dry, concurrency = opts.concurrency, journal = opts.journal,
    progress = not opts.no_progress and not show_plan and not opts.json and p.action ~= "report",
    on_result = opts.verbose and item_logger(plan and plan_collector(plan)) or (plan and plan_collector(plan)) or nil,
  })
  if not s then io.stderr:write("zlock: ", tostring(rerr), "\n"); return 2 end
  if opts.json then
    out.json(M.summary_json(p, s, dry, plan), report_on_stdout(p, params) and io.stderr or io.stdout)
  else
    if plan then print_plan(plan) end
    M.print_summary(p, s, opts, params)
  end
  require("zlock.cli_fixture").finish_rehearsal(ctx.client, function(c)   -- --rehearse: the audit
    ctx.cli.COMMANDS.locks.run{ args = { p.module }, opts = opts, client = c, cli = ctx.cli }
  end, opts)
  return exit_status(s, opts)
end

-- Loads and checks the policy and its parameters, before any client exists.
local function prepare(ctx)
  local policy = require "zlock.policy"
  local opts = ctx.opts
  local p, perr = policy.load(ctx.args[1])
  if not p then io.stderr:write("zlock: ", perr, "\n"); return 2 end
  local given = {}
  for _, kv in ipairs(opts.param or {}) do
    local k, v = kv:match("^([%w_]+)=(.*)$")
    given[k] = v
  end
  local params, e, warnings = policy.params(p, given)
  if not params then io.stderr:write("zlock: ", e, "\n"); return 2 end
  for _, w in ipairs(warnings or {}) do io.stderr:write("zlock: warning: ", w, "\n") end
  ctx.policy, ctx.params = p, params
  if opts.journal then
    ctx.interrupt_hint = "; finished items are in " .. opts.journal .. ": run the same command again to resume"
  end
  return nil
end

local function check_options(opts)
  if opts.concurrency then
    local n = tonumber(opts.concurrency)
    local why = require("zlock.options").why("bulk", "concurrency", n or opts.concurrency)
    if why then return "--" .. why end
    opts.concurrency = n
  end
  for _, kv in ipairs(opts.param or {}) do
    if not kv:match("^[%w_]+=") then return "--param expects NAME=VALUE, got " .. kv end
  end
  return nil
end

M.commands = {
  { name = "run", args = "POLICY.lua", min = 1, max = 1, run = run, prepare = prepare, check_options = check_options,
    operand_files = "*.lua",
    client_for = function(opts, configured) return require("zlock.cli_fixture").client(opts, configured) end,
    -- Ctrl-C stops feeding the run between two items, never inside one (nothing is lost)
    safe_points = function()
      local Run = require("zlock.bulk").Run
      return { [Run.lock] = true, [Run.update] = true, [Run.unlock] = true, [Run.get] = true }
    end,
    summary = "run a bulk lock policy (a Lua file: see examples/)",
    options = {
      { "--dry-run", nil, "print the plan (record, action, why); change nothing", key = "dry_run" },
      { "--concurrency", "N", "calls in flight at most (default 10, or the policy's)", key = "concurrency" },
      { "--journal", "FILE", "record finished items; a rerun with the same FILE resumes", key = "journal",
        file = true },
      { "--param", "NAME=VALUE", "set a policy parameter (also: environment ZLOCK_<NAME>)", key = "param",
        multi = true },
      { "--no-progress", nil, "no progress bar (it is only drawn on a terminal anyway)", key = "no_progress" },
      { "--rehearse", "ORG.json", "run on zlock-emu seeded with this fixture (zlock fixture export); "
        .. "print the lock audit; nothing real is touched", key = "rehearse", file = true },
    },
    help = "A policy selects records (a search, a COQL query, or the org's locks), filters them with\n"
      .. "`where`, and locks, updates or unlocks them (or reports them as CSV). Items run concurrently;\n"
      .. "a failed item never stops the others. Ctrl-C stops sending, lets the calls in flight finish\n"
      .. "and records them in the journal: the same command resumes." },
}

return setmetatable(M.commands, { __index = M })
