--- Running a policy (`zlock.policy.run`): the selection read page by page, each record turned
-- into an item by the policy's callbacks (in the sandbox's terms: `where`, `reason`, `why`,
-- `label`, `row`), the items fed to the bulk runner, report rows written.
-- @module zlock.policy_run
local bulk = require "zlock.bulk"
local zerror = require "zlock.error"

local M = {}

local LABELS = { lock = "locking", unlock = "unlocking", update = "updating" }

-- The policy module (loaded by then: it requires this one at its end).
local function policy() return require "zlock.policy" end

local function policy_error(msg)
  return zerror.new{ code = "POLICY", message = msg }
end

-- A page iterator over the selection: each call returns an array of records and whether it
-- was the last page.
local function selection(c, p, sel)
  if sel.locks then
    -- every lock is already fetched by c:locks (one GET per locked record): one "page"
    local all = {}
    for l in c:locks(p.module) do all[#all + 1] = l end
    local given = false
    return function()
      if given then return nil end
      given = true
      return all, true
    end
  end
  local it
  if sel.criteria then
    it = c:search_pages(p.module, sel.criteria, { fields = sel.fields })
  elseif sel.coql then
    it = c:coql_pages(sel.coql)
  else
    it = c:records_pages(p.module, { fields = sel.fields })
  end
  return function()
    local recs, info = it()
    if not recs then return nil end
    return recs, not (info and info.more_records == true)
  end
end

-- JSON null is nil in policies: `rec.X or default` works.
local function strip_nulls(rec)
  for k, v in pairs(rec) do
    if policy().is_null(v) then rec[k] = nil end
  end
end

-- A policy whose `select` is a function: its table, validated. Returns the selection, or nil, err.
local function resolve_select(p, ctx)
  local sel = p.select
  if type(sel) ~= "function" then return sel end
  local ok, s = pcall(sel, ctx)
  if not ok then return nil, "policy select() failed: " .. tostring(s) end
  local vp = {}
  for k, v in pairs(p) do vp[k] = v end
  vp.select = s
  local okv, verr = policy().validate(vp, p.name)
  if not okv then return nil, verr end
  return s
end

-- Where report rows go: `params.out` (a file; "-" or unset: `opts.out` or stdout).
-- Returns the stream and the file to close (nil when none), or nil, err.
local function report_output(ctx, opts)
  local path = ctx.params.out
  if path and path ~= "" and path ~= "-" then
    local f, msg = io.open(path, "wb")
    if not f then return nil, "cannot write " .. path .. ": " .. tostring(msg) end
    return f, f
  end
  return opts.out or io.stdout
end

-- ------------------------------------------------------------------ one record -> one item

-- The lock reason for a record: string, or nil and why not.
local function reason_of(p, rec, ctx)
  local ok, r = pcall(policy().render, p.reason, rec, ctx)
  if not ok then return nil, "reason: " .. tostring(r) end
  if type(r) ~= "string" or r == "" then return nil, "reason: the policy gave no reason for this record" end
  return r
end

-- What the plan and on_result show about an item: the record, its name, why it matched.
local function extra_of(p, rec, ctx, why, reason)
  local render = policy().render
  local extra = { record = rec, name = policy().record_name(rec) }
  local okw, w = pcall(render, p.why, rec, ctx)
  extra.why = (okw and w) or (type(why) == "string" and why) or reason or ""
  local okl, l = pcall(render, p.label, rec, ctx)
  if okl and l then extra.name = l end
  return extra
end

--- Plans one selected record (JSON nulls already stripped): what the policy does with it.
-- Pure: the policy's callbacks run (protected), nothing is sent or written.
-- @tparam table p validated policy
-- @tparam table sel its selection table
-- @tparam table ctx the policy context
-- @tparam table rec the record (or lock, with `select.locks`)
-- @treturn string `"item"`, `"skip"` (`where` said no), `"row"` (report: the line, maybe nil)
--  or `"fail"` (a callback raised or gave nothing usable: the message)
-- @return the item `{module, record_id, lock_id, reason, extra}`, the row, or the message
-- @treturn string module (for a failure)
-- @treturn string record_id (for a failure)
-- @treturn boolean whether `where` matched the record
function M.plan(p, sel, ctx, rec)
  local module = sel.locks and rec.module or p.module
  local record_id = sel.locks and rec.record_id or rec.id
  record_id = record_id and tostring(record_id) or "?"
  local ok, match, why = true, true, nil
  if p.where then ok, match, why = pcall(p.where, rec, ctx) end
  if not ok then return "fail", "where() failed: " .. tostring(match), module, record_id end
  if not match then return "skip" end
  if p.action == "report" then
    local okr, line = pcall(p.row, rec, ctx)
    if not okr then return "fail", "row() failed: " .. tostring(line), module, record_id, true end
    return "row", line, module, record_id, true
  end
  local reason, rerr
  if p.action == "lock" or p.action == "update" then
    reason, rerr = reason_of(p, rec, ctx)
    if not reason then return "fail", rerr, module, record_id, true end
  end
  return "item", { module = module, record_id = record_id, lock_id = sel.locks and tostring(rec.id) or nil,
                   reason = reason, extra = extra_of(p, rec, ctx, why, reason) }, module, record_id, true
end

local Feeder = {}
Feeder.__index = Feeder

-- Turns one selected record into an item (nil when filtered out, reported or failed: a
-- failure is recorded in the run at once).
function Feeder:prepare(rec)
  self.selected = self.selected + 1
  strip_nulls(rec)
  local what, v, module, record_id, matched = M.plan(self.p, self.sel, self.ctx, rec)
  if matched then self.matched = self.matched + 1 end
  if what == "skip" then return nil end
  if what == "row" then
    if v then self.emit(v) end
    return nil
  end
  self.count = self.count + 1
  if what == "fail" then
    self.run:fail(self.p.action, module or "?", record_id, policy_error(v))
    return nil
  end
  return v
end

-- Hands one item to the run.
function Feeder:submit(it)
  local action, run = self.p.action, self.run
  if action == "lock" then
    run:lock(it.module, it.record_id, it.reason, it.extra)
  elseif action == "update" then
    run:update(it.module, it.record_id, it.lock_id, it.reason, it.extra)
  else
    run:unlock(it.module, it.record_id, it.lock_id, it.extra)
  end
end

-- Reads the selection ahead by up to `prefetch` records before submitting them: the bar knows
-- its total from the start for most policies, a search over Zoho's 2,000-record cap fails
-- before acting on a truncated set, and memory stays bounded by one read-ahead window.
function Feeder:feed(next_page, prefetch)
  local exhausted = false
  while not exhausted do
    local items, buffered = {}, 0
    while buffered <= prefetch do
      local recs, last = next_page()
      if not recs then exhausted = true; break end
      for _, rec in ipairs(recs) do items[#items + 1] = self:prepare(rec) end
      buffered = buffered + #recs
      if last then exhausted = true; break end
    end
    if exhausted then self.run:set_total(self.count) end
    for _, it in ipairs(items) do self:submit(it) end
  end
end

-- ------------------------------------------------------------------ the run

-- A writer of report lines to `out` (closed at the end when it is `file`, else flushed when it
-- can be: a caller's stream needs only `write`, which returns a true value on success):
-- returns `emit(line)` and `finish()`, which returns the first failed write's message or nil.
local function report_writer(out, file)
  local failed
  local function check(ok, msg)
    if not ok and not failed then failed = "cannot write the report: " .. tostring(msg) end
  end
  local function emit(line) check(out:write(line, "\n")) end
  local function finish()
    if file then check(file:close()) elseif out.flush then check(out:flush()) end
    return failed
  end
  return emit, finish
end

local function start_run(c, p, opts, report)
  return bulk.new(c, {
    concurrency = opts.concurrency or p.concurrency, journal = (not report) and opts.journal or nil,
    journal_identity = require("zlock.journal").identity(p),
    dry_run = opts.dry_run or report, progress = opts.progress, label = LABELS[p.action],
    on_result = opts.on_result, engine = opts.engine, sequential = opts.sequential,
  })
end

-- Feeds the whole selection; a raised error is recorded as a failed `select` item, except
-- SIGINT (stop feeding: what is in flight finishes and is journaled). Returns
-- interrupted, selection_error.
local function feed_all(c, p, feeder, prefetch)
  local ok, serr = pcall(function() feeder:feed(selection(c, p, feeder.sel), prefetch) end)
  if ok then return false, nil end
  if type(serr) == "table" and serr.code == "INTERRUPTED" then return true, nil end
  feeder.run:fail("select", p.module or "*", "-", type(serr) == "table" and serr or policy_error(tostring(serr)))
  return false, serr
end

--- Runs a validated policy (see `zlock.policy.run`).
-- @param c client
-- @tparam table p validated policy
-- @tparam[opt] table opts
-- @treturn table the summary, or nil, err
function M.run(c, p, opts)
  opts = opts or {}
  local ctx = policy().context(opts.params or p.params, opts.now)
  local sel, serr = resolve_select(p, ctx)
  if not sel then return nil, serr end
  local report = p.action == "report"
  local out, out_file = opts.out or io.stdout, nil
  if report then
    out, out_file = report_output(ctx, opts)
    if not out then return nil, out_file end
  end
  local run, rerr = start_run(c, p, opts, report)
  if not run then return nil, rerr end
  local emit, emitted = report_writer(out, out_file)
  if report and p.header then emit(p.header) end
  local feeder = setmetatable({ run = run, p = p, sel = sel, ctx = ctx, emit = emit, report = report,
                                selected = 0, matched = 0, count = 0 }, Feeder)
  local interrupted, selection_error = feed_all(c, p, feeder, opts.prefetch or 2000)
  local summary = run:finish()
  if report then summary.write_error = emitted() end
  summary.interrupted = interrupted
  summary.selected, summary.matched, summary.selection_error = feeder.selected, feeder.matched, selection_error
  summary.reported = report and feeder.matched or nil
  summary.policy = p.name
  return summary
end

return M
