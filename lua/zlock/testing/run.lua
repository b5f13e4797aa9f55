--- `zlock.testing.run_policy`: a policy run through the code of `zlock run`, with its summary
-- as `zlock run --json` prints it, and interruptions on demand to test resuming.
-- @module zlock.testing.run
local policy = require "zlock.policy"
local zerror = require "zlock.error"
local cli_run = require "zlock.cli_run"

local M = {}

-- Park-Miller: deterministic dice from a seed, exact in doubles on every Lua.
local function dice(seed)
  local x = (math.floor(tonumber(seed) or 1) % 2147483646) + 1
  return function()
    x = (x * 16807) % 2147483647
    return (x - 1) / 2147483646
  end
end

-- An engine that passes items to `inner` and, when the interruption is due, refuses the next
-- item by raising an INTERRUPTED error (what zlock run's Ctrl-C raises): `stop` lets the items in
-- flight finish and be journaled; `crash` waits until they were answered, throws the answers
-- away and reports none in flight, as if the process had died before writing them down.
local Interrupter = {}
Interrupter.__index = Interrupter

function Interrupter:submit(item)
  if not self.tripped and ((self.after and self.n >= self.after) or (self.roll and self.roll() < self.chance)) then
    self.tripped = true
    if self.mode == "crash" then
      while self.inner:inflight() > 0 do self.inner:poll(0.05) end
      self.crashed = true
    end
    error(zerror.new{ code = "INTERRUPTED", message = "zlock.testing: interrupted after " .. self.n
      .. " items (" .. self.mode .. ")" }, 0)
  end
  local ok, due = self.inner:submit(item)
  if ok then self.n = self.n + 1 end
  return ok, due
end

function Interrupter:poll(timeout)
  if self.crashed then return {} end
  return self.inner:poll(timeout)
end

function Interrupter:inflight()
  if self.crashed then return 0 end
  return self.inner:inflight()
end

function Interrupter:stats() return self.inner:stats() end
function Interrupter:close() return self.inner:close() end

-- The engine `zlock run` would use (the client's concurrent one, else the sequential one).
local function default_engine(c, concurrency)
  if type(c.bulk_engine) == "function" then
    local e = c:bulk_engine{ concurrency = concurrency }
    if e then return e end
  end
  return require("zlock.engine_seq").new(c)
end

local function interrupter(c, spec, concurrency)
  if type(spec) ~= "table" then error("run_policy: interrupt must be a table", 3) end
  local mode = spec.mode or "stop"
  if mode ~= "stop" and mode ~= "crash" then error("run_policy: interrupt.mode must be \"stop\" or \"crash\"", 3) end
  local after, chance = spec.after, spec.chance
  if (after == nil) == (chance == nil) then error("run_policy: interrupt needs `after` or `chance`", 3) end
  if after ~= nil and (type(after) ~= "number" or after < 0 or after ~= math.floor(after)) then
    error("run_policy: interrupt.after must be an integer >= 0", 3)
  end
  if chance ~= nil and (type(chance) ~= "number" or chance < 0 or chance > 1) then
    error("run_policy: interrupt.chance must be in 0..1", 3)
  end
  return setmetatable({ inner = default_engine(c, concurrency), mode = mode, after = after, chance = chance,
                        roll = chance and dice(spec.random_seed or 1), n = 0 }, Interrupter)
end

local function load(p, opts)
  local loaded, err
  if type(p) == "string" then
    loaded, err = policy.load(p)
  elseif type(p) == "table" then
    local ok, verr = policy.validate(p, p.name)
    loaded, err = ok and p or nil, verr
  else
    error("run_policy: policy must be a file name or a table", 3)
  end
  if not loaded then return nil, err end
  local getenv = opts.env and os.getenv or function() return nil end
  local given = {}   -- as from --param: strings, converted to the type of the default
  for k, v in pairs(opts.params or {}) do given[k] = tostring(v) end
  local params, perr = policy.params(loaded, given, getenv)
  if not params then return nil, perr end
  return loaded, params
end

--- Runs a policy; see `zlock.testing.run_policy`.
-- @param p policy file name or table
-- @tparam table opts
-- @treturn table|nil the summary, or nil and the error (bad policy or parameters)
function M.run_policy(p, opts)
  opts = opts or {}
  local c = opts.client or (opts.emulator and opts.emulator:client())
  if not c then error("run_policy: opts.client (or opts.emulator) is required", 2) end
  local loaded, params = load(p, opts)
  if not loaded then return nil, params end
  local dry = opts.dry_run and true or false
  local concurrency = opts.concurrency or loaded.concurrency
  local engine
  if opts.interrupt and (dry or loaded.action == "report") then
    error("run_policy: interrupt needs a run that makes calls (not a dry run, not a report)", 2)
  end
  if opts.interrupt then
    engine = interrupter(c, opts.interrupt, concurrency or require("zlock.bulk").DEFAULT_CONCURRENCY)
  end
  local plan = {}
  local s, err = policy.run(c, loaded, {
    params = params, dry_run = dry, concurrency = concurrency, journal = opts.journal, engine = engine,
    out = opts.out, now = opts.now,
    on_result = function(item) plan[#plan + 1] = cli_run.plan_item(item) end,
  })
  if not opts.client then c:close() end
  if not s then return nil, err end
  return cli_run.summary_json(loaded, s, dry, plan)
end

return M
