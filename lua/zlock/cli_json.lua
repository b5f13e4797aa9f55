--- JSON for the machine output of the `zlock` command (docs/json.md is the contract).
-- Lists are always JSON arrays, `[]` when empty: a table is encoded as an array when it was
-- marked with `array` or when it is a non-empty sequence; every other table is an object (keys
-- sorted, so the output is stable). Functions and userdata other than `null` are left out.
-- (lua-cjson 2.1.0, as in Debian 12, has no `empty_array`: it would print `{}`.)
-- @module zlock.cli_json
local cjson = require "cjson.safe"

local M = {}

local ARRAY = setmetatable({}, { __mode = "k" })

--- Marks `t` (default a new table) as a JSON array.
-- @tparam[opt] table t
-- @treturn table t
function M.array(t)
  t = t or {}
  ARRAY[t] = true
  return t
end

local function is_sequence(t)
  local n = #t
  if n == 0 then return false end
  local count = 0
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or k > n or k ~= math.floor(k) then return false end
    count = count + 1
  end
  return count == n
end

local encode

local function encode_array(t, depth, buf)
  buf[#buf + 1] = "["
  for i = 1, #t do
    if i > 1 then buf[#buf + 1] = "," end
    encode(t[i], depth + 1, buf)
  end
  buf[#buf + 1] = "]"
end

local function encode_object(t, depth, buf)
  local keys = {}
  for k, v in pairs(t) do
    local tv = type(v)
    if (type(k) == "string" or type(k) == "number") and tv ~= "function" and tv ~= "thread"
       and (tv ~= "userdata" or v == cjson.null) then
      keys[#keys + 1] = tostring(k)
    end
  end
  table.sort(keys)
  buf[#buf + 1] = "{"
  for i, k in ipairs(keys) do
    if i > 1 then buf[#buf + 1] = "," end
    local v = t[k]
    if v == nil then v = t[tonumber(k)] end
    buf[#buf + 1] = cjson.encode(k)
    buf[#buf + 1] = ":"
    encode(v, depth + 1, buf)
  end
  buf[#buf + 1] = "}"
end

function encode(v, depth, buf)
  local tv = type(v)
  if tv == "table" then
    if depth > 16 then buf[#buf + 1] = "null"; return end
    if ARRAY[v] or is_sequence(v) then encode_array(v, depth, buf) else encode_object(v, depth, buf) end
  elseif tv == "string" or tv == "boolean" then
    buf[#buf + 1] = cjson.encode(v)
  elseif tv == "number" then
    buf[#buf + 1] = (v ~= v or v == math.huge or v == -math.huge) and "null" or cjson.encode(v)
  else
    buf[#buf + 1] = "null"   -- nil, cjson.null
  end
end

--- Encodes `v` as JSON text (one line).
-- @param v
-- @treturn string
function M.encode(v)
  local buf = {}
  encode(v, 0, buf)
  return table.concat(buf)
end

return M
