--- The bulk runner: many lock / update / unlock / get calls, streamed, journaled, resumable.
--
--     local run = c:bulk{ concurrency = 10, journal = "closed-lost.journal", progress = true }
--     for deal in c:search("Deals", "(Stage:equals:Closed Lost)") do
--       run:lock("Deals", deal.id, "closed lost " .. deal.Closing_Date)
--     end
--     local summary = run:finish()
--     -- summary.counts.locked, summary.counts.failed, summary.failures[i].record_id / .err ...
--
-- Items stream in (`run:lock` returns as soon as the engine accepts the item; when the engine
-- is full the runner polls it and dispatches finished items), so memory does not grow with the
-- number of records (the journal's index of done keys and the failure list excepted).
-- A failed item never stops the others and never vanishes: it is counted, journaled, passed to
-- `on_result`, and listed in `summary.failures`.
--
-- ## Halting
-- Two errors say every later item would fail the same way: `CREDITS_EXHAUSTED` (a 429 saying
-- the org has no API credits left; they come back over Zoho's rolling 24 h window) and a final
-- `TOKEN` error (the token endpoint refused the refresh). After one, the runner sends nothing
-- more: each later item fails at once with that same error (journaled as `failed`, so a rerun
-- with the same journal tries it again), and `summary.halted` holds the error. A journal line
-- that cannot be written (a full disk...) halts the run the same way (`JOURNAL`, also in
-- `summary.journal_error`): what is not journaled cannot be resumed exactly.
--
-- ## Outcomes
-- The core decides them (`zl_outcome` in zlock.h), the same on every engine: `locked`,
-- `already_locked` (the record holds another lock: automatic, or manual with another reason:
-- nothing to do), `updated`, `unlocked`, `already_unlocked` (the lock is gone, or an unlock
-- without a lock id found no lock), `got`, `failed`. The runner adds its own: `skipped` (done
-- in an earlier run, per the journal) and `planned` (dry run).
--
-- ## Journal, resume and `kill -9`
-- With `journal = FILE`, every finished item is appended to FILE and flushed (see
-- `zlock.journal`); a rerun with the same FILE skips every item already done there without a
-- call. Items that failed are tried again. The items *in flight* when the process died are not
-- in the journal, so the rerun sends them again, and each op is safe to send twice:
--
-- * lock: if the first POST landed, the second answers 403 "record is already locked"; the
--   core then GETs the record's locks (the runner sends every lock with `rerun = true`), and a
--   **Manual lock with the same reason** counts as this item's lock (outcome `locked`,
--   `result.reconciled = true`): no lock missing, none duplicated (Zoho holds at most one lock
--   per record). Any other lock means `already_locked`. (The core applies the same rule to its
--   own retries after a lost reply.) A reason template must therefore be deterministic for a
--   record (no "locked at <now>").
-- * update: a PUT of the same reason is idempotent.
-- * unlock: if the first DELETE landed, the second answers "relation not found" (or, without a
--   lock id, finds no manual lock): outcome `already_unlocked`.
-- * get: read-only.
--
-- ## Engines
-- The runner schedules its items on an engine chosen by `zlock.engine` (which also states the
-- contract every engine keeps): the C engine on libcurl multi, nginx light threads inside
-- OpenResty, or one item at a time. `opts.engine` gives it an engine object of your own.
-- @module zlock.bulk
local core = require "zlock.core"
local journal_mod = require "zlock.journal"
local progress_mod = require "zlock.progress"
local engine_mod = require "zlock.engine"
local options = require "zlock.options"
local zerror = require "zlock.error"

local M = {}

M.DEFAULT_CONCURRENCY = options.default("bulk", "concurrency")

--- Outcomes that count as failures.
M.FAILED = { failed = true }

local function mkerr(code, message)
  return zerror.new{ code = code, message = message }
end

--- The journal key of an item: `op|module|record_id[|lock_id]` (the reason is not part of it).
-- @tparam table item
-- @treturn string
function M.key(item)
  local k = item.op .. "|" .. item.module .. "|" .. item.record_id
  if item.lock_id then k = k .. "|" .. item.lock_id end
  return k
end

-- Module names already found valid (a run names few modules; bounded all the same).
local good_modules, n_good_modules = {}, 0

-- Returns nil when the item is well-formed, else an INVALID_ARGUMENT error table. The checks
-- are the core's (`core.check_*`, as in every request); `last` remembers the last reason found
-- valid (items of a run mostly share one) and good_modules the module names.
local function check(item, last)
  local m = item.module
  if not good_modules[m] then
    local why = core.check_module(m)
    if why then return mkerr("INVALID_ARGUMENT", "invalid module name: " .. m .. " (" .. why .. ")") end
    if n_good_modules < 256 then good_modules[m], n_good_modules = true, n_good_modules + 1 end
  end
  local why = core.check_id(item.record_id)
  if why then return mkerr("INVALID_ARGUMENT", "invalid record id: " .. item.record_id .. " (" .. why .. ")") end
  if item.lock_id then
    why = core.check_id(item.lock_id)
    if why then return mkerr("INVALID_ARGUMENT", "invalid lock id: " .. item.lock_id .. " (" .. why .. ")") end
  end
  if (item.op == "lock" or item.op == "update") and item.reason ~= last.reason then
    why = core.check_reason(item.reason)
    if why then return mkerr("INVALID_ARGUMENT", "reason " .. why) end
    last.reason = item.reason
  end
  return nil
end

local Run = {}
Run.__index = Run

--- Starts a bulk run on a client (also reachable as `c:bulk(opts)`).
-- @param client a zlock client
-- @tparam[opt] table opts (types, defaults and ranges: `zlock.options`, section `bulk`; an
--  unknown option raises)
--  `concurrency` (calls in flight at most; the C engine adapts below it on 429),
--  `journal` (file name: resume support), `journal_identity` (see `zlock.journal.identity`: a
--  journal written for another identity is refused), `dry_run` (no call is made; items end as `planned`),
--  `on_result` (function(item, result, err), item.outcome set; errors it raises are reported
--  on stderr and do not stop the run), `progress` (true: bar on stderr when it is a terminal;
--  a function(state) receives `{done, total, failed, skipped}`), `total` (expected item count, for
--  the bar; see `run:set_total`), `label` (bar label), `engine` (an engine object),
--  `sequential` (true: one item at a time), `threads` (deprecated, ignored: the C engine runs
--  on the caller's thread).
-- @return run object, or nil and an error (journal cannot be opened)
function M.new(client, opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("bad argument #1 to 'bulk' (table expected)", 2) end
  options.check("bulk", opts, "bulk", 2, nil, true)
  local conc = opts.concurrency or M.DEFAULT_CONCURRENCY
  local self = setmetatable({
    client = client, opts = opts, dry_run = opts.dry_run and true or false,
    counts = {}, failures = {}, done = 0, failed = 0, skipped = 0, submitted = 0, returned = 0,
    reconciled = 0, checked = {},
    total = opts.total, started = progress_mod.clock(),
  }, Run)
  if opts.journal then
    -- a dry run shows what a rerun would skip, and writes nothing (not even an empty file)
    local j, err = journal_mod.open(opts.journal, { identity = opts.journal_identity, read_only = self.dry_run })
    if not j then return nil, err end
    self.journal = j
  end
  local p = opts.progress
  if p == true then
    self.bar = progress_mod.new{ label = opts.label }
  elseif type(p) == "function" then
    self.progress_fn = p
  end
  self.engine = engine_mod.choose(client, { engine = opts.engine, dry_run = self.dry_run,
                                      concurrency = conc, sequential = opts.sequential,
                                      -- nobody reads the result tables: spare decoding them
                                      lean = opts.on_result == nil })
  return self
end

--- Installs `bulk` on a client class: `c:bulk(opts)` is `bulk.new(c, opts)`.
-- @tparam table Client the client method table
function M.install(Client)
  Client.bulk = M.new
end

function Run:_state()
  return { done = self.done, total = self.total, failed = self.failed, skipped = self.skipped }
end

function Run:_progress(force)
  if self.bar then self.bar:update(self:_state(), force) end
  if self.progress_fn then self.progress_fn(self:_state()) end
end

--- Sets (or raises) the number of items the bar counts towards (selection may learn it late).
-- @tparam integer n
function Run:set_total(n)
  self.total = n
  self:_progress(true)
end

-- The summary's entry of a failed item.
local function failure(item, err)
  local t = type(err) == "table"
  return { op = item.op, module = item.module, record_id = item.record_id, lock_id = item.lock_id, err = err,
           code = t and err.code or nil, message = t and err.message or tostring(err) }
end

-- What the journal keeps of a finished item besides its key and outcome.
local function journal_fields(item, result, err)
  local lock_id
  if type(result) == "table" then
    lock_id = result.id or (type(result.details) == "table" and result.details.id) or nil
    if type(lock_id) ~= "string" then lock_id = nil end
  end
  local t = type(err) == "table"
  return { lock_id = lock_id or item.lock_id, code = t and err.code or nil, http_status = t and err.http_status or nil }
end

-- Records a finished item: counts, failures, journal, on_result, progress.
function Run:_record(item, outcome, result, err)
  item.outcome = outcome
  if type(result) == "table" and result.reconciled then self.reconciled = self.reconciled + 1 end
  self.counts[outcome] = (self.counts[outcome] or 0) + 1
  self.done = self.done + 1
  if M.FAILED[outcome] then
    self.failed = self.failed + 1
    self.failures[#self.failures + 1] = failure(item, err)
  elseif outcome == "skipped" then
    self.skipped = self.skipped + 1
  end
  if self.journal and outcome ~= "skipped" and outcome ~= "planned" then self:_journal(item, outcome, result, err) end
  if self.opts.on_result then
    local ok, msg = pcall(self.opts.on_result, item, result, err)
    if not ok then io.stderr:write("zlock: on_result raised: ", tostring(msg), "\n") end
  end
  if self.bar or self.progress_fn then self:_progress() end
end

-- Journals a finished item; a line that cannot be written halts the run (an unjournaled run
-- cannot be resumed exactly: send nothing more, fail the run).
function Run:_journal(item, outcome, result, err)
  local ok, jerr = self.journal:append(item.jkey, outcome, journal_fields(item, result, err))
  if not ok and not self.journal_error then
    self.journal_error = jerr
    self.halted = self.halted or jerr
  end
end

local NO_OUTCOME = "engine returned no outcome"

-- Records an engine's answer under the core's outcome; a failure that halts (see Halting)
-- stops the sending.
function Run:_finished(r)
  local outcome = r.outcome
  if outcome == nil or M.FAILED[outcome] then
    local err = r.err or mkerr("BAD_RESPONSE", NO_OUTCOME)
    if not self.halted and core.halts(err) then
      self.halted = err   -- every later item would meet it too: send nothing more
    end
    return self:_record(r.item, "failed", nil, err)
  end
  return self:_record(r.item, outcome, r.result, nil)
end

function Run:_drain(timeout)
  local finished = self.engine:poll(timeout)
  self.returned = self.returned + #finished
  for _, r in ipairs(finished) do self:_finished(r) end
  return #finished
end

-- Copies the caller's `extra` fields (e.g. a policy's record name) into a queued item,
-- never overriding the item's own fields.
local function with_extra(item, extra)
  if extra then
    for k, v in pairs(extra) do if item[k] == nil then item[k] = v end end
  end
  return item
end

-- Adds one item to the run: skip (journal), plan (dry run), fail (malformed) or submit.
function Run:_add(item, extra)
  if extra then with_extra(item, extra) end
  if self.finished then error("bulk run already finished", 3) end
  if self.journal then
    item.jkey = M.key(item)
    if self.journal:done(item.jkey) then return self:_record(item, "skipped", nil, nil) end
  end
  local bad = check(item, self.checked)
  if bad then return self:_record(item, "failed", nil, bad) end
  if self.dry_run then return self:_record(item, "planned", nil, nil) end
  if self.halted then return self:_record(item, "failed", nil, self.halted) end
  self.submitted = self.submitted + 1
  local ok, due = self.engine:submit(item)
  while not ok do
    self:_drain(0.05)
    ok, due = self.engine:submit(item)
  end
  -- keep results flowing while the caller produces items (the sequential engine runs on poll);
  -- an engine that answers `due == false` would return nothing now: spare it the empty poll
  if due ~= false and self.submitted > self.returned then self:_drain(0) end
  return true
end

local function argcheck(fname, n, v, what, optional)
  if v == nil and optional then return end
  if type(v) ~= "string" then
    error(("bad argument #%d to '%s' (%s expected, got %s)"):format(n, fname, what, type(v)), 3)
  end
end

--- Queues a lock of `module/record_id` with `reason`.
-- @tparam string module
-- @tparam string record_id
-- @tparam string reason
-- @tparam[opt] table extra fields copied into the item (e.g. `why`, `record`) for `on_result`
function Run:lock(module, record_id, reason, extra)
  if type(module) ~= "string" or type(record_id) ~= "string" or type(reason) ~= "string" then
    argcheck("lock", 1, module, "module name")   -- one test on the hot path, the message here
    argcheck("lock", 2, record_id, "record id string")
    argcheck("lock", 3, reason, "reason string")
  end
  -- rerun: an earlier run may have applied it (the core then takes our own lock as this one);
  -- `outcome = nil` adds no field: it sizes the table for the fields the run adds later
  local item = { op = "lock", module = module, record_id = record_id, reason = reason, rerun = true,
                 outcome = nil }
  return self:_add(item, extra)
end

--- Queues an update of the reason of lock `lock_id`.
-- @tparam string module
-- @tparam string record_id
-- @tparam string lock_id
-- @tparam string reason
-- @tparam[opt] table extra
function Run:update(module, record_id, lock_id, reason, extra)
  if type(module) ~= "string" or type(record_id) ~= "string" or type(lock_id) ~= "string"
     or type(reason) ~= "string" then
    argcheck("update", 1, module, "module name")
    argcheck("update", 2, record_id, "record id string")
    argcheck("update", 3, lock_id, "lock id string")
    argcheck("update", 4, reason, "reason string")
  end
  local item = { op = "update", module = module, record_id = record_id, lock_id = lock_id, reason = reason }
  return self:_add(item, extra)
end

--- Queues an unlock: of lock `lock_id`, or (nil) of the record's manual lock (one core call
-- that lists the record's locks first: two requests).
-- @tparam string module
-- @tparam string record_id
-- @tparam[opt] string lock_id
-- @tparam[opt] table extra
function Run:unlock(module, record_id, lock_id, extra)
  argcheck("unlock", 1, module, "module name")
  argcheck("unlock", 2, record_id, "record id string")
  argcheck("unlock", 3, lock_id, "lock id string", true)
  local item = { op = "unlock", module = module, record_id = record_id, lock_id = lock_id }
  return self:_add(item, extra)
end

--- Queues a get: of lock `lock_id`, or (nil) of the record's lock list.
-- @tparam string module
-- @tparam string record_id
-- @tparam[opt] string lock_id
-- @tparam[opt] table extra
function Run:get(module, record_id, lock_id, extra)
  argcheck("get", 1, module, "module name")
  argcheck("get", 2, record_id, "record id string")
  argcheck("get", 3, lock_id, "lock id string", true)
  local item = { op = "get", module = module, record_id = record_id, lock_id = lock_id }
  return self:_add(item, extra)
end

--- Records a failure that happened before any call (e.g. a policy's `where` raised): it is
-- counted, listed in the summary and passed to `on_result` like any failed item.
-- @tparam string op
-- @tparam string module
-- @tparam string record_id
-- @param err error table or message
-- @tparam[opt] table extra
function Run:fail(op, module, record_id, err, extra)
  local item = { op = tostring(op), module = tostring(module), record_id = tostring(record_id) }
  with_extra(item, extra)
  item.jkey = M.key(item)
  if type(err) ~= "table" then err = mkerr("POLICY", tostring(err)) end
  return self:_record(item, "failed", nil, err)
end

--- Counts so far: `{done=, total=, failed=, skipped=, counts={...}}`.
-- @treturn table
function Run:stats()
  local s = self:_state()
  s.counts = self.counts
  return s
end

--- Waits for every item in flight, closes the engine and the journal (fsync), ends the bar.
-- Calling it again returns the same summary.
-- @treturn table summary: `counts` (by outcome), `failures` (list of `{op, module, record_id,
-- lock_id, code, message, err}`), `done`, `failed`, `skipped`, `reconciled` (items whose
-- earlier, interrupted or unanswered call had landed), `elapsed` (s), `rate` (items/s),
-- `engine` (engine stats), `dry_run`, `journal` (file name), `ok` (no failure), `halted` (the
-- error that stopped sending, see Halting; nil when none), `journal_error` (a journal write,
-- flush or fsync failed: the run stopped sending at once and is not `ok`)
function Run:finish()
  if self.summary then return self.summary end
  if self.engine then
    while self.engine:inflight() > 0 do self:_drain(0.1) end
  end
  self.finished = true
  local estats = self.engine and self.engine:stats() or { concurrency = 0, max = 0, retries = 0, throttled = 0 }
  if self.engine then self.engine:close() end
  if self.journal then
    local _, jerr = self.journal:close()
    self.journal_error = self.journal_error or jerr
  end
  if self.total == nil then self.total = self.done end
  self:_progress(true)
  if self.bar then self.bar:finish() end
  local elapsed = progress_mod.clock() - self.started
  local worked = self.done - self.skipped
  self.summary = {
    counts = self.counts, failures = self.failures, done = self.done, failed = self.failed,
    skipped = self.skipped, elapsed = elapsed, rate = elapsed > 0 and worked / elapsed or 0,
    engine = estats, dry_run = self.dry_run, journal = self.opts.journal, ok = self.failed == 0,
    reconciled = self.reconciled, halted = self.halted, journal_error = self.journal_error,
  }
  if self.journal_error then self.summary.ok = false end
  return self.summary
end

M.Run = Run   -- the run's methods (the CLI stops a Ctrl-C'ed run at their entry)
return M
