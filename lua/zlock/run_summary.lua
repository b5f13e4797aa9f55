--- The summary of a policy run as `zlock run --json` prints it; `zlock.testing.run_policy`
-- returns the same table, so a spec asserts on exactly what the command reports.
-- @module zlock.run_summary
local M = {}

--- One plan entry from a finished bulk item (an `on_result` item).
-- @tparam table item
-- @treturn table `action`, `module`, `record_id`, `lock_id`, `name`, `why`, `outcome`, `reason`
function M.plan_item(item)
  return { action = item.op, module = item.module, record_id = item.record_id, lock_id = item.lock_id,
           name = item.name, why = item.why, outcome = item.outcome, reason = item.reason }
end

--- The summary table.
-- @tparam table p the policy
-- @tparam table s what `zlock.policy.run` returned
-- @tparam boolean dry_run
-- @tparam[opt] table plan the plan entries (`plan_item`), when the summary lists them
-- @treturn table `policy`, `action`, `dry_run`, `selected`, `matched`, `counts`, `failures`
--  (`op`, `module`, `record_id`, `lock_id`, `code`, `message`, `http_status`), `elapsed`, `rate`,
--  `engine`, `reconciled`, `halted`, `plan`, `reported`, `interrupted`
function M.json(p, s, dry_run, plan)
  local fails = {}
  for i, f in ipairs(s.failures) do
    fails[i] = { op = f.op, module = f.module, record_id = f.record_id, lock_id = f.lock_id, code = f.code,
                 message = f.message, http_status = type(f.err) == "table" and f.err.http_status or nil }
  end
  return { policy = p.name, action = p.action, dry_run = dry_run, selected = s.selected, matched = s.matched,
           counts = s.counts, failures = fails, elapsed = s.elapsed, rate = s.rate, engine = s.engine,
           reconciled = s.reconciled, halted = s.halted and { code = s.halted.code, message = s.halted.message },
           plan = plan, reported = s.reported, interrupted = s.interrupted }
end

return M
