--- Test helper: checks that a response has the shape Zoho CRM gives it
-- (Zoho's documented replies): success and error envelopes, key order, ids, timestamps.
-- Every check raises a luassert failure that shows the raw response.
local assert = require "luassert"
local cjson = require "cjson.safe"

local M = {}

M.null = cjson.null

--- Removes the whitespace a JSON encoder may put between tokens (keeps string contents).
-- @tparam string raw JSON text
-- @treturn string the same JSON without insignificant whitespace
function M.compact(raw)
  local out, i, n = {}, 1, #raw
  while i <= n do
    local c = raw:sub(i, i)
    if c == '"' then
      local j = i + 1
      while j <= n do
        local d = raw:sub(j, j)
        if d == "\\" then j = j + 2
        elseif d == '"' then break
        else j = j + 1 end
      end
      out[#out + 1] = raw:sub(i, j)
      i = j + 1
    else
      if not c:match("%s") then out[#out + 1] = c end
      i = i + 1
    end
  end
  return table.concat(out)
end

--- True when `v` is a Zoho id: a JSON string of 1 to 19 digits.
function M.is_id(v)
  return type(v) == "string" and v:match("^%d+$") ~= nil and #v <= 19
end

--- True when `v` is an ISO 8601 date-time with a numeric offset (2023-10-23T17:46:17+05:30).
function M.is_datetime(v)
  return type(v) == "string"
    and v:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d[%+%-]%d%d:%d%d$") ~= nil
end

local function show(res)
  if not res then return "no response" end
  return ("HTTP %s body=%s"):format(tostring(res.status), tostring(res.body):sub(1, 600))
end
M.show = show

--- Asserts that `res` exists and has HTTP status `status`.
function M.status(res, status, what)
  assert(res, (what or "request") .. ": no response (connection closed?)")
  assert.are.equal(status, res.status, (what or "request") .. ": " .. show(res))
end

-- Checks code/message/details of one error object `o` against `want`.
local function check_error_object(o, want, res)
  assert.are.equal("table", type(o), "error object missing: " .. show(res))
  assert.are.equal("error", o.status, "status field: " .. show(res))
  if want.codes then
    local ok = false
    for _, c in ipairs(want.codes) do ok = ok or c == o.code end
    assert(ok, "code " .. tostring(o.code) .. " not in {" .. table.concat(want.codes, ",") .. "}: " .. show(res))
  elseif want.code then
    assert.are.equal(want.code, o.code, "code: " .. show(res))
  else
    assert.are.equal("string", type(o.code), "code: " .. show(res))
  end
  if want.messages then
    local ok = false
    for _, m in ipairs(want.messages) do ok = ok or m == o.message end
    assert(ok, "message " .. tostring(o.message) .. " not one of the documented texts: " .. show(res))
  elseif want.message then
    assert.are.equal(want.message, o.message, "message: " .. show(res))
  else
    assert.are.equal("string", type(o.message), "message: " .. show(res))
  end
  assert.are.equal("table", type(o.details), "details must be an object: " .. show(res))
  for k, v in pairs(want.details or {}) do
    assert.are.same(v, o.details[k], "details." .. k .. ": " .. show(res))
  end
  return o
end

--- Asserts a path/parameter-level error: top-level `{"code","details","message","status":"error"}`
-- in that key order, with HTTP `want.status`. `want` = {status, code|codes, message|messages, details}.
-- @return the decoded error object
function M.top_error(res, want)
  M.status(res, want.status, want.what)
  local c = M.compact(res.body)
  assert(c:match('^{"code":"[^"]*","details":%b{},"message":".*","status":"error"}$'),
    "top-level error envelope with keys code, details, message, status: " .. show(res))
  return check_error_object(res.json, want, res)
end

--- Asserts a body-field-level error wrapped in `{"data":[{...}]}` (keys in Zoho's order).
-- @return the decoded error object
function M.wrapped_error(res, want)
  M.status(res, want.status, want.what)
  local c = M.compact(res.body)
  assert(c:match('^{"data":%[{"code":"[^"]*","details":%b{},"message":".*","status":"error"}%]}$'),
    "wrapped error envelope {\"data\":[{code,details,message,status}]}: " .. show(res))
  return check_error_object(res.json.data[1], want, res)
end

--- Asserts either envelope (Zoho documents both: a parser must accept both) and returns the error object.
function M.any_error(res, want)
  M.status(res, want.status, want.what)
  assert(res.json, "error body must be JSON: " .. show(res))
  if res.json.data then return M.wrapped_error(res, want) end
  return M.top_error(res, want)
end

--- Asserts the exact success body of update/unlock:
-- `{"data":[{"code":"SUCCESS","details":{"id":"<id>"},"message":"<message>","status":"success"}]}`.
function M.exact_success(res, status, id, message)
  M.status(res, status)
  local want = '{"data":[{"code":"SUCCESS","details":{"id":"' .. id .. '"},"message":"'
    .. message .. '","status":"success"}]}'
  assert.are.equal(want, M.compact(res.body), "exact success body: " .. show(res))
end

--- Asserts a `{name, id}` user object (Minified_User).
function M.user(u, what)
  assert.are.equal("table", type(u), what .. " must be {name,id}")
  assert.are.equal("string", type(u.name), what .. ".name")
  assert(M.is_id(u.id), what .. ".id must be an id string, got " .. tostring(u.id))
end

return M
