--- Bulk engines: the schedulers behind the bulk runner (`zlock.bulk`), the contract they keep,
-- and the one place that chooses one.
--
-- "Bulk" is the concept (many calls at once: `c:bulk`, `zlock run`, the C side's `zl_bulk_*`);
-- an engine is how the items of a bulk run are scheduled. Three engines exist:
--
-- * `zlock.engine_multi`: the C engine (libcurl multi on the caller's thread, adaptive
--   concurrency), for a client on the libcurl transport;
-- * `zlock.ngx.engine`: light threads inside nginx, for a client on the ngx transport;
-- * `zlock.engine_seq`: one item at a time over the client's blocking calls, everywhere.
--
-- ## The contract
-- An engine runs items concurrently; the runner feeds it and drains results; there are no
-- callbacks from an engine into the runner.
--
--     engine:submit(item)     -- item = {op="lock"|"update"|"unlock"|"get", module=, record_id=,
--                             --         lock_id=, reason=} (an engine tells items apart by
--                             --         table identity: the same record may come twice)
--                             -- returns true, or false when full (the runner then polls);
--                             -- after true, an optional `due`: false tells the runner that
--                             -- nothing finished waits for a poll (it may skip polling until
--                             -- the engine is full)
--     engine:poll(timeout_s)  -- drives I/O for up to timeout_s seconds (returns early when
--                             -- something finished); returns an array (possibly empty) of
--                             -- {item=<the submitted table, same identity>, outcome=,
--                             --  result=, err=}
--     engine:inflight()       -- number of items submitted and not yet returned by poll
--     engine:stats()          -- {concurrency=<current limit>, max=<configured max>,
--                             --  retries=<count>, throttled=<429s seen>, engine=<name>}
--     engine:close()          -- idempotent; items still in flight are abandoned
--
-- * `outcome` is the core's (see `zlock.bulk`, Outcomes; `failed` when there is no result).
--   `result`/`err` are what the client's blocking call returns for the same op: lock -> the
--   lock table (`result.id` is the lock id); update/unlock -> Zoho's success item
--   (`details.id`); get -> the lock list (array, `{}` when 204) or one lock; `err` is the zlock
--   error table (`code`, `message`, `http_status`, `details`, `retryable`): the failure, or for
--   `already_locked` / `already_unlocked` the answer that said so (then `result` is the lock
--   that holds the record, when the core listed it). The engines get all of it from the
--   client (`c:engine_core()` for the C engine, `c:_perform(item)` for the Lua ones), which
--   reads the core's result.
--   `item.lock_id` may be nil for unlock (the core lists the record's locks and removes its
--   manual lock) and for get (list the record's locks). `item.rerun` (set by the runner on
--   locks) goes to the core as `zl_op.rerun`. An unknown `op` comes back `failed` with an
--   `INVALID_ARGUMENT` error.
-- * Every submitted item comes back from `poll` exactly once, never dropped. The runner
--   validates items before `submit` with the core's checks (`core.check_*`), so an engine may
--   assume well-formed module names, ids and reasons.
-- * Retries (429, 5xx, transport), the single-flight token refresh and lock reconciliation
--   are the C core's and apply to every item, as in the blocking calls.
--
-- `spec/engines/` runs every engine through the same cases.
-- @module zlock.engine
local engine_seq = require "zlock.engine_seq"

local M = {}

-- The engine of each Lua transport, by the transport's `name`.
local BY_TRANSPORT = { ngx = "zlock.ngx.engine" }

--- The concurrent engine for a client: what `c:bulk_engine(opts)` returns.
-- A Lua transport's own engine (a custom transport table may bring one as
-- `transport:bulk_engine(client, opts)`), else the C engine on libcurl multi.
-- @param client a zlock client
-- @tparam[opt] table opts engine options (`concurrency` for all; see each engine)
-- @return the engine, or `nil` and a reason
function M.concurrent(client, opts)
  opts = opts or {}
  local t = client:transport()
  if t == nil then return require("zlock.engine_multi").new(client, opts) end
  if type(t.bulk_engine) == "function" then return t:bulk_engine(client, opts) end
  local mod = BY_TRANSPORT[t.name]
  if not mod then return nil, "the " .. tostring(t.name or "custom") .. " transport has no concurrent engine" end
  return require(mod).new(client, opts)
end

--- Chooses the engine of a bulk run: `opts.engine` when given; none for a dry run; the
-- sequential engine when asked (`sequential = true`) or when no concurrent engine fits the
-- client; else `concurrent(client, opts)`.
-- @param client a zlock client (or any object with the blocking methods, for the sequential engine)
-- @tparam table opts `engine`, `dry_run`, `sequential`, and the engine options (`concurrency`,
--  `lean`, ...)
-- @return the engine, or nil for a dry run
function M.choose(client, opts)
  if opts.engine then return opts.engine end
  if opts.dry_run then return nil end
  if opts.sequential ~= true and type(client.transport) == "function" then
    local eng = M.concurrent(client, opts)
    if eng then return eng end
  end
  return engine_seq.new(client)
end

return M
