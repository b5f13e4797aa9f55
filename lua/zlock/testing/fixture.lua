--- Org fixtures as Lua tables, converted to the JSON document zlock-emu reads as its seed
-- (`zlock-emu --seed FILE`; the format is in zlock-emu's README, "Org fixtures"). The emulator checks the document and
-- refuses unknown keys and fields; this module only adds two conveniences of Lua tables:
--
-- * `modules` may be a map from module name to module (`{ Deals = { records = {...} } }`);
-- * a record may give its field values next to its own keys (`id`, `owner`, `created`,
--   `modified`, `lock`) instead of under `values`:
--   `{ id = "1001", Deal_Name = "Acme", Stage = "Closed Lost", Closing_Date = "2026-01-05" }`.
--
-- Record and lock ids are strings (19-digit ids do not fit a Lua number); they are optional.
-- @module zlock.testing.fixture
local cjson = require "cjson.safe"

local M = {}

local RECORD_KEYS = { id = true, owner = true, created = true, modified = true, lock = true, values = true }

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

local function record(r)
  if type(r) ~= "table" then return r end
  local out, values = {}, {}
  for k, v in pairs(r.values or {}) do values[k] = v end
  for k, v in pairs(r) do
    if RECORD_KEYS[k] then
      if k ~= "values" then out[k] = v end
    else
      values[k] = v
    end
  end
  if next(values) ~= nil then out.values = values end
  return out
end

local function module_of(name, m)
  if type(m) ~= "table" then return m end
  local out = {}
  for k, v in pairs(m) do out[k] = v end
  out.api_name = out.api_name or name
  if type(m.records) == "table" then
    local recs = {}
    for i, r in ipairs(m.records) do recs[i] = record(r) end
    out.records = recs
  end
  -- lua-cjson writes an empty table as {}: an empty list is left out (it means the same)
  for _, k in ipairs{ "records", "fields" } do
    if type(out[k]) == "table" and next(out[k]) == nil then out[k] = nil end
  end
  if type(out.config) == "table" then
    local cfg = {}
    for k, v in pairs(out.config) do
      if not (type(v) == "table" and next(v) == nil) then cfg[k] = v end
    end
    out.config = cfg
  end
  return out
end

--- The fixture as the JSON document zlock-emu reads (a Lua table; see `encode` for the text).
-- @tparam table t the fixture
-- @treturn table
function M.document(t)
  if type(t) ~= "table" then error("a fixture is a table, got " .. type(t), 2) end
  local doc = {}
  for k, v in pairs(t) do doc[k] = v end
  local mods = t.modules
  if type(mods) == "table" then
    local list = {}
    if mods[1] ~= nil or next(mods) == nil then
      for i, m in ipairs(mods) do list[i] = module_of(nil, m) end
    else
      for _, name in ipairs(sorted_keys(mods)) do list[#list + 1] = module_of(name, mods[name]) end
    end
    doc.modules = list
  end
  return doc
end

--- The fixture as JSON text, for a seed file of zlock-emu.
-- @tparam table t the fixture
-- @treturn string
function M.encode(t)
  local doc = M.document(t)
  local no_modules = type(doc.modules) == "table" and next(doc.modules) == nil
  if no_modules then doc.modules = nil end
  local s, err = cjson.encode(doc)
  if not s then error("the fixture cannot be written as JSON: " .. tostring(err), 2) end
  if no_modules then   -- an org without records: "modules" must still be a JSON array
    s = s:gsub("}$", (s == "{}" and "" or ",") .. '"modules":[]}')
  end
  return s
end

return M
