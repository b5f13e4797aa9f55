--- The fleet budget for transports driven from Lua (nginx, HAProxy, cqueues): the C core's own
-- script and rules (`core.budget()`, csrc/budget_script.c) run over the host's Redis client, so
-- nginx workers, HAProxy states and cqueues servers take their in-flight slots from the same
-- org-wide budget as `zlock run` processes and libcurl clients. A call made here is interactive
-- (unless the client's `org_priority` is `"bulk"`): it goes ahead of bulk runs, which leave it
-- a reserve.
--
-- A transport offers Redis with `t:budget_redis(ms)`, returning an object whose
-- `r:cmd(...)` sends one command and returns its reply, or `nil, message` (a Redis error
-- reply's message starts with `redis:`). Redis that fails: one warning, then calls go on
-- without slots (the org's own limit answers).
-- @module zlock.budget
local core = require "zlock.core"
local unpack = table.unpack or unpack   -- luacheck: ignore 143

local M = {}

local H = {}
H.__index = H

local SCRIPT   -- core.budget(), read once

--- A holder of the budget for one client.
-- @tparam table conf the client's `core:budget()` (`key`, `limit`, `reserve`, `class`)
-- @param redis the transport's Redis client (`cmd`)
-- @tparam table env `now()` (s), `sleep(s)`, `warn(msg)`, `id` (unique per process or
--   worker), `timeout` (s: the longest a call may wait for a slot, and its lease)
function M.new(conf, redis, env)
  SCRIPT = SCRIPT or core.budget()
  local lease = math.max(SCRIPT.lease_ms, math.floor((env.timeout or 0) * 1000))
  return setmetatable({ conf = conf, redis = redis, env = env, lease = lease, sha = nil, broken = false,
    keys = { conf.key .. ":s", conf.key .. ":h", conf.key .. ":l" }, waits = 0, wait_s = 0 }, H)
end

function H:_fail(err)
  if not self.broken then
    self.env.warn("fleet budget unusable (" .. tostring(err) .. "); calls go on without its slots")
  end
  self.broken = true
end

-- Runs the script: its reply (an array), or nil after a failure.
function H:_eval(more, gives)
  local args = { "EVALSHA", "", 3, self.keys[1], self.keys[2], self.keys[3], self.env.id, self.conf.class or "i", more,
    self.lease, self.conf.limit, 64, self.conf.reserve, SCRIPT.initial, SCRIPT.decrease, SCRIPT.probe }
  for _, g in ipairs(gives or {}) do
    args[#args + 1] = g[1]; args[#args + 1] = g[2]; args[#args + 1] = g[3]
  end
  for _ = 1, 2 do
    if not self.sha then
      local sha, err = self.redis:cmd("SCRIPT", "LOAD", SCRIPT.script)
      if type(sha) ~= "string" then self:_fail(err or "SCRIPT LOAD gave no digest"); return nil end
      self.sha = sha
    end
    args[2] = self.sha
    local r, err = self.redis:cmd(unpack(args))
    if type(r) == "table" then return r end
    if err and err:find("NOSCRIPT", 1, true) then
      self.sha = nil   -- Redis restarted or was flushed: load it again
    else
      self:_fail(err or "the budget script gave an unexpected reply")
      return nil
    end
  end
  return nil
end

--- The longest a budget's Redis may take to connect or reply (the core's rule): a slower
-- one is worse than none.
-- @treturn number milliseconds
function M.redis_ms()
  SCRIPT = SCRIPT or core.budget()
  return SCRIPT.redis_ms
end

--- Waits for a slot (yielding through `env.sleep`), at most `env.timeout`.
-- @treturn table|nil the ticket (`{seq, level}`), or nil: no budget, or the wait ran out
function H:take()
  if self.broken then return nil end
  local env = self.env
  local t0 = env.now()
  local waited = false
  while true do
    local r = self:_eval(1)
    if not r then return nil end
    self.limit, self.given = r[4], r[6] == 1
    if r[1] >= 1 then
      if waited then self.waits, self.wait_s = self.waits + 1, self.wait_s + (env.now() - t0) end
      return { r[2], r[3] + 1 }
    end
    if env.now() - t0 >= (env.timeout or 30) then return nil end
    waited = true
    env.sleep(0.002 + math.random() * 0.004)   -- a slot frees within a round trip somewhere
  end
end

--- Gives a slot back with what its request's reply said.
-- @tparam table ticket from `take`
-- @tparam number status the reply's status; 0 for none
-- @param errcode the transport's error code (nil when a reply came)
-- @param credits the reply's `X-API-CREDITS-REMAINING` (nil when absent)
function H:give(ticket, status, errcode, credits)
  if not ticket or self.broken then return end
  self:_eval(0, { { ticket[1], ticket[2], core.budget_signal(status or 0, errcode, credits) } })
end

return M
