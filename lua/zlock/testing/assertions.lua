--- luassert extensions for policy specs (registered by `zlock.testing`):
--
--     assert.locked(emu, "Deals", "1001")                        -- holds a lock (any source)
--     assert.locked(emu, "Deals", "1001", "closed lost in Q3")   -- ... with this reason
--     assert.is_not.locked(emu, "Deals", "1002")
--
-- The emulator's admin state is the truth (not the API under test).
-- @module zlock.testing.assertions
local M = {}

local function describe_lock(l)
  if not l then return "it holds no lock" end
  return ("it holds a %s lock %s, reason %q"):format(tostring(l.source), tostring(l.lock_id), tostring(l.reason))
end

local function locked(_, arguments)
  local emu, module, id, reason = arguments[1], arguments[2], arguments[3], arguments[4]
  if type(emu) ~= "table" or type(emu.state) ~= "function" then
    error("assert.locked(emu, module, record_id[, reason]): emu must be a zlock.testing emulator", 4)
  end
  id = tostring(id)
  local found
  for _, l in ipairs(emu:state(module).locks) do
    if l.record_id == id then found = l end
  end
  local ok = found ~= nil and (reason == nil or found.reason == reason)
  arguments[1] = module .. "/" .. id
  arguments[2] = reason and ("a lock with reason %q"):format(reason) or "a lock"
  arguments[3] = describe_lock(found)
  arguments[4] = nil
  arguments.n = 3
  arguments.nofmt = { true, true, true }
  return ok
end

--- Registers the assertions on a luassert module.
-- @param luassert the luassert module
function M.register(luassert)
  local say = require "say"
  say:set("assertion.zlock_locked.positive", "Expected %s to hold %s, but %s")
  say:set("assertion.zlock_locked.negative", "Expected %s not to hold %s, but %s")
  luassert:register("assertion", "locked", locked, "assertion.zlock_locked.positive",
    "assertion.zlock_locked.negative")
end

return M
