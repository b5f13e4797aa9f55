--- zlock error objects: one shape everywhere.
-- Every runtime failure is returned as `nil, err` where `err` is a table:
--
--  * `code` Zoho's code (`NOT_ALLOWED`, `INVALID_DATA`, `INVALID_TOKEN`, `TOO_MANY_REQUESTS`...) or
--    zlock's own (README, "Errors"): `INVALID_ARGUMENT`, `TOKEN`, `CONNECT`, `TIMEOUT`, `CLOSED`,
--    `TLS`, `BAD_RESPONSE`, `TRANSPORT`, `CANCELLED`, `NOT_LOCKED`, `CREDITS_EXHAUSTED`,
--    `LIMIT_EXCEEDED`, `POLICY`, `JOURNAL`, `ERROR`, `INTERNAL`
--  * `message` Zoho's message or zlock's explanation
--  * `http_status` the HTTP status of the deciding reply (nil when there was none)
--  * `details` Zoho's `details` object as a Lua table (nil when absent)
--  * `retryable` true when trying again later may succeed
--
-- `tostring(err)` gives e.g. `NOT_ALLOWED (HTTP 403): record is already locked`.
-- No access token, refresh token or client secret ever appears in an error.
-- @module zlock.error
local core = require "zlock.core"

local M = {}

local mt = {}
mt.__index = mt

--- Human-readable form: `CODE (HTTP n): message`.
-- @treturn string
function mt:__tostring()
  if self.http_status then
    return string.format("%s (HTTP %d): %s", self.code, self.http_status, self.message or "")
  end
  return string.format("%s: %s", self.code, self.message or "")
end

--- Builds an error object.
-- @tparam table t fields `code`, `message`, `http_status`, `details` (table or JSON text), `retryable`
-- @treturn table the error (metatable gives `__tostring`)
function M.new(t)
  local details = t.details
  if type(details) == "string" then details = core.decode(details) end
  local status = t.http_status
  if status == 0 then status = nil end
  return setmetatable({
    code = t.code or "INTERNAL",
    message = t.message or "",
    http_status = status,
    details = details,
    retryable = t.retryable and true or false,
  }, mt)
end

--- An error object from anything raised or returned as an error: `v` itself when it is one,
-- a table's fields, or a message (code `code`, default `ERROR`).
-- @param v an error object, a table with `code`/`message`, or any value (its `tostring`)
-- @tparam[opt="ERROR"] string code the code of a message
-- @treturn table the error
function M.from(v, code)
  if M.is(v) then return v end
  if type(v) == "table" then return M.new(v) end
  return M.new{ code = code or "ERROR", message = tostring(v) }
end

--- True when `v` is a zlock error object.
-- @param v any value
-- @treturn boolean
function M.is(v)
  return getmetatable(v) == mt
end

M.mt = mt
return M
