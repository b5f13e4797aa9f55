--- Record locking configuration as code: a file describes modules' configurations; `plan`
-- compares it with the org, `apply` makes the org match, `export` writes the org's in the
-- same format.
--
-- The file is a Lua file returning a table, or JSON (a `.json` name) holding the same object:
--
--     return {
--       Deals = {
--         lock_type = "both",                        -- manual | automatic | both
--         locked_for = "all_profiles",               -- or all_profiles_except_excluded_profiles
--         restricted_actions = { "update", "delete" },
--         excluded_fields = { "Description" },       -- field API names (or {api_name=...})
--         locking_rules = {                          -- rules are matched by name
--           { name = "Lock closed lost deals", lock_existing_records = false,
--             criteria = { comparator = "equal", field = { api_name = "Stage" }, value = "Closed Lost" } },
--         },
--       },
--       Leads = { lock_type = "manual" },
--       Campaigns = false,                           -- no configuration: delete it if there is one
--     }
--
-- Keys are module API names. A module not in the file is left alone; a field not given is
-- left as it is (so a file may manage only `locking_rules`); when `locking_rules` is given, the
-- org's rules not named in it are deleted. `lock_excluded_profiles` and
-- `restricted_custom_buttons` entries are names (or `{name=, id=}`). Fields compare as Zoho
-- sends them: lists of names as sets, criteria by value (a field's `id` is ignored).
-- @module zlock.config_plan
local cjson = require "cjson.safe"
local core = require "zlock.core"
local errors = require "zlock.error"
local config = require "zlock.config"

local M = {}

--- The fields a file may set, in the order plans and exports list them.
M.FIELDS = { "lock_type", "locked_for", "lock_excluded_profiles", "restricted_actions", "restricted_communications",
             "restricted_custom_buttons", "excluded_fields", "lock_for_portal_users", "locking_rules" }
--- The fields of a locking rule a file may set.
M.RULE_FIELDS = { "name", "criteria", "lock_existing_records" }

-- How a field compares: "scalar", "set" (of strings) or the key naming an object in a set.
local KIND = { lock_type = "scalar", locked_for = "scalar", lock_for_portal_users = "scalar",
               restricted_actions = "set", restricted_communications = "set",
               excluded_fields = "api_name", lock_excluded_profiles = "name", restricted_custom_buttons = "name",
               locking_rules = "rules" }
local RULE_KIND = { name = "string", criteria = "criteria", lock_existing_records = "boolean" }

local null = cjson.null
local PLAN = {}   -- the metatable marking a plan (apply takes a plan or a description)

-- ------------------------------------------------------------------ checking a description

local function check_list(v, kind, where)
  if type(v) ~= "table" then return where .. " must be a list" end
  for i, x in ipairs(kind == "rules" and {} or v) do
    local ok = type(x) == "string" or (kind ~= "set" and type(x) == "table" and (x[kind] or x.id or x.name))
    if not ok then return ("%s[%d] must be a %s"):format(where, i, kind == "set" and "string" or "name or table") end
  end
  for k in pairs(v) do
    if type(k) ~= "number" then return where .. " must be a list, not a table with key " .. tostring(k) end
  end
end

local function check_rule(r, i, module, seen)
  local where = ("%s.locking_rules[%d]"):format(module, i)
  if type(r) ~= "table" then return where .. " must be a table" end
  for k in pairs(r) do
    if not RULE_KIND[k] then return where .. ": unknown field " .. tostring(k) end
  end
  if type(r.name) ~= "string" or r.name == "" then return where .. ": name (a string) is required" end
  if seen[r.name] then return where .. ": a second rule named " .. r.name end
  seen[r.name] = true
  if r.criteria ~= nil and type(r.criteria) ~= "table" and type(r.criteria) ~= "string" then
    return where .. ".criteria must be a table (Zoho's criteria object) or a string"
  end
  if r.lock_existing_records ~= nil and type(r.lock_existing_records) ~= "boolean" then
    return where .. ".lock_existing_records must be a boolean"
  end
end

local function check_module_cfg(module, cfg)
  if cfg == false or cfg == null then return end
  if type(cfg) ~= "table" then return module .. ": a configuration table or false expected, got " .. type(cfg) end
  for k, v in pairs(cfg) do
    local kind = KIND[k]
    if not kind then return module .. ": unknown field " .. tostring(k) end
    local why
    if kind == "scalar" then
      if type(v) ~= (k == "lock_for_portal_users" and "boolean" or "string") then
        why = ("%s.%s must be a %s"):format(module, k, k == "lock_for_portal_users" and "boolean" or "string")
      end
    elseif kind == "rules" then
      why = check_list(v, "rules", module .. ".locking_rules")
      local seen = {}
      for i, r in ipairs(type(v) == "table" and v or {}) do why = why or check_rule(r, i, module, seen) end
    else
      why = check_list(v, kind, module .. "." .. k)
    end
    if why then return why end
  end
end

--- Checks a description (the table a file returns) without any request.
-- @tparam table desired module name -> configuration table, or `false`
-- @treturn boolean|nil true, or nil and why
-- @treturn string|nil
function M.check(desired)
  if type(desired) ~= "table" then return nil, "a table of module name -> configuration expected" end
  for module, cfg in pairs(desired) do
    if type(module) ~= "string" then return nil, "module names are the keys, got " .. type(module) end
    local why = core.check_module(module)
    if why then return nil, "module name " .. module .. ": " .. why end
    why = check_module_cfg(module, cfg)
    if why then return nil, why end
  end
  return true
end

-- ------------------------------------------------------------------ comparing

-- A canonical text of a JSON-like value: keys sorted, a criteria field's id dropped.
local function canon(v)
  if type(v) ~= "table" then
    if v == null then return "null" end
    if type(v) == "string" then return ("%q"):format(v) end
    if type(v) == "number" and v == math.floor(v) and math.abs(v) < 2^53 then return ("%d"):format(v) end
    return tostring(v)
  end
  local keys, n = {}, #v
  if n > 0 then
    local parts = {}
    for i = 1, n do parts[i] = canon(v[i]) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  for k, x in pairs(v) do
    if x ~= null then keys[#keys + 1] = tostring(k) end   -- a null member is no member
  end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    local x = v[k]
    if k == "field" and type(x) == "table" then x = { api_name = x.api_name } end
    parts[#parts + 1] = ("%q:%s"):format(k, canon(x))
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- The names of a set field (strings as they are, objects by their key), sorted.
local function names_of(list, kind)
  local out = {}
  for _, x in ipairs(type(list) == "table" and list or {}) do
    if type(x) == "table" then x = x[kind] or x.name or x.id end
    out[#out + 1] = tostring(x)
  end
  table.sort(out)
  return out
end

-- What the file says, as the request sends it (strings of object sets become {key = s}).
local function wire(field, v)
  local kind = KIND[field]
  if kind == "scalar" or kind == "set" then return v end
  local out = {}
  for i, x in ipairs(v) do out[i] = type(x) == "string" and { [kind] = x } or x end
  return out
end

-- The value shown in a plan: scalars as they are, sets as sorted names.
local function shown(field, v)
  local kind = KIND[field]
  if v == nil or v == null then return nil end
  if kind == "scalar" then return v end
  return names_of(v, kind == "set" and "" or kind)
end

local function same(field, a, b)
  return canon(shown(field, a)) == canon(shown(field, b))
end

local function rule_changes(have, want)
  local fields, body = {}, { id = have.id }
  for _, k in ipairs(M.RULE_FIELDS) do
    local w = want[k]
    if w ~= nil and canon(w) ~= canon(have[k]) then
      fields[#fields + 1] = { field = k, from = have[k], to = w }
      body[k] = w
    end
  end
  return fields, body
end

-- Rule steps (add / change / delete) from the org's rules to the file's, and the
-- `locking_rules` items of the request.
local function plan_rules(have_rules, want_rules)
  local steps, items, by_name = {}, {}, {}
  for _, r in ipairs(have_rules or {}) do
    if type(r) == "table" and r.name ~= nil then by_name[r.name] = by_name[r.name] or r end
  end
  local kept = {}
  for _, w in ipairs(want_rules) do
    local h = by_name[w.name]
    if not h then
      local item = {}
      for k, v in pairs(w) do item[k] = v end
      steps[#steps + 1] = { action = "add", name = w.name, rule = item }
      items[#items + 1] = item
    else
      kept[h] = true
      local fields, body = rule_changes(h, w)
      if #fields > 0 then
        steps[#steps + 1] = { action = "change", name = w.name, id = h.id, fields = fields }
        items[#items + 1] = body
      end
    end
  end
  for _, h in ipairs(have_rules or {}) do
    if type(h) == "table" and not kept[h] then
      steps[#steps + 1] = { action = "delete", name = h.name, id = h.id }
      items[#items + 1] = { id = h.id, _delete = true }
    end
  end
  return steps, items
end

-- One module's step: action "create", "update", "delete" or "none", with the fields that
-- change, the rule steps and the request body item.
-- The fields (not rules) that differ: plan entries and the request's fields.
local function plan_fields(have, want)
  local fields, body = {}, {}
  for _, k in ipairs(M.FIELDS) do
    local w = want[k]
    if w ~= nil and k ~= "locking_rules" and not (have and same(k, have[k], w)) then
      fields[#fields + 1] = { field = k, from = have and shown(k, have[k]) or nil, to = shown(k, w) }
      body[k] = wire(k, w)
    end
  end
  return fields, body
end

local function plan_module(module, have, want)
  local step = { module = module, id = have and have.id or nil, rules = {} }
  if want == false or want == null then
    step.action, step.fields = have and "delete" or "none", {}
    return step
  end
  local body
  step.fields, body = plan_fields(have, want)
  if want.locking_rules then
    local items
    step.rules, items = plan_rules(have and have.locking_rules, want.locking_rules)
    if #items > 0 then body.locking_rules = items end
  end
  if not have then
    step.action = "create"
  elseif #step.fields > 0 or #step.rules > 0 then
    step.action = "update"
    body.id = have.id
  else
    step.action = "none"
  end
  step.body = step.action ~= "none" and step.action ~= "delete" and body or nil
  return step
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

--- Compares a description with the org (one GET per module in it).
-- @param c client
-- @tparam table desired module name -> configuration table, or `false` (see the format above)
-- @treturn table the plan: `steps` (one per module, in name order: `module`, `action`
--   ("create" | "update" | "delete" | "none"), `id` (the org's configuration id), `fields`
--   (`{field, from, to}`), `rules` (`{action = "add"|"change"|"delete", name, id, fields}`),
--   `body` (what `apply` sends)) and `changes` (the number of steps that are not "none");
--   or `nil, err` (INVALID_ARGUMENT for a bad description, or the GET's error)
function M.plan(c, desired)
  local ok, why = M.check(desired)
  if not ok then return nil, errors.new{ code = "INVALID_ARGUMENT", message = why } end
  local p = setmetatable({ steps = {}, changes = 0 }, PLAN)
  for _, module in ipairs(sorted_keys(desired)) do
    local have, err = config.get(c, module)
    if have == nil then return nil, err end
    local step = plan_module(module, have or nil, desired[module])
    p.steps[#p.steps + 1] = step
    if step.action ~= "none" then p.changes = p.changes + 1 end
  end
  return p
end

local function run_step(c, step)
  if step.action == "create" then return config.create(c, step.module, step.body) end
  if step.action == "update" then return config.update(c, step.module, step.body, step.id) end
  return config.delete(c, step.module, step.id)
end

--- Makes the org match a description: plans, then sends one request per module that differs
-- (POST, PUT or DELETE). A module that fails does not stop the others. A second apply of the
-- same description changes nothing.
-- @param c client
-- @tparam table desired the description, or a plan from `plan` (then nothing is read again)
-- @treturn table the plan, each changed step with `ok` (true) or `error` (the zlock error),
--   and `applied` / `failed` counts; or `nil, err` when the plan could not be made
function M.apply(c, desired)
  local p = desired
  if getmetatable(desired) ~= PLAN then
    local err
    p, err = M.plan(c, desired)
    if not p then return nil, err end
  end
  p.applied, p.failed = 0, 0
  for _, step in ipairs(p.steps) do
    if step.action ~= "none" then
      local res, err = run_step(c, step)
      if res then
        step.ok, p.applied = true, p.applied + 1
        if step.action == "create" then step.id = res.id end
      else
        step.error, p.failed = err, p.failed + 1
      end
    end
  end
  return p
end

-- A criteria as the file writes it: a copy without the fields' ids (they differ between orgs).
local function clean_criteria(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do
    if k == "field" and type(x) == "table" then out[k] = { api_name = x.api_name } else out[k] = clean_criteria(x) end
  end
  return out
end

local function array(t)
  if #t == 0 and cjson.array_mt then setmetatable(t, cjson.array_mt) end   -- [] in JSON, not {}
  return t
end

-- The org's configuration as the file writes it: the fields of M.FIELDS, rules without ids,
-- criteria without field ids, set entries as names.
local function describe(cfg)
  local out = {}
  for _, k in ipairs(M.FIELDS) do
    local v, kind = cfg[k], KIND[k]
    if v ~= nil and v ~= null then
      if kind == "rules" then
        local rules = {}
        for i, r in ipairs(v) do
          rules[i] = { name = r.name, lock_existing_records = r.lock_existing_records,
                       criteria = r.criteria ~= null and clean_criteria(r.criteria) or nil }
        end
        out[k] = array(rules)
      elseif kind == "scalar" then
        out[k] = v
      else
        out[k] = array(names_of(v, kind == "set" and "" or kind))
      end
    end
  end
  return out
end

--- The org's configurations in the file format.
-- @param c client
-- @tparam[opt] table modules module names (default: every module Zoho can lock, and the
--   org's custom modules); a named module without a configuration is written as `false`,
--   unnamed ones are left out
-- @treturn table the description; or `nil, err`
function M.export(c, modules)
  local named = modules ~= nil
  if not named then
    local select = require "zlock.select"
    modules = {}
    for _, m in ipairs(select.LOCK_MODULES) do modules[#modules + 1] = m end
    local doc = c:request("GET", "settings/modules")
    for _, m in ipairs(type(doc) == "table" and type(doc.modules) == "table" and doc.modules or {}) do
      if type(m.api_name) == "string" and (m.generated_type == "custom" or m.api_name:match("__c$")) then
        modules[#modules + 1] = m.api_name
      end
    end
  end
  local out = {}
  for _, module in ipairs(modules) do
    local cfg, err = config.get(c, module)
    if cfg == nil then return nil, err end
    if cfg then out[module] = describe(cfg) elseif named then out[module] = false end
  end
  return out
end

-- ------------------------------------------------------------------ files

local function lua_chunk(src, name)
  local env = {}
  local chunk, err
  if setfenv then  -- luacheck: ignore 113 (Lua 5.1 / LuaJIT)
    chunk, err = loadstring(src, "@" .. name)  -- luacheck: ignore 113
    if chunk then setfenv(chunk, env) end  -- luacheck: ignore 113
  else
    chunk, err = load(src, "@" .. name, "t", env)
  end
  if not chunk then return nil, name .. " does not compile: " .. tostring(err) end
  local ok, v = pcall(chunk)
  if not ok then return nil, name .. " failed to load: " .. tostring(v) end
  return v
end

--- Reads a description file: JSON when the name ends in `.json`, else a Lua file returning
-- the table (run with no globals at all). Checked with `check`.
-- @tparam string path
-- @treturn table|nil the description, or nil and why
-- @treturn string|nil
function M.load(path)
  local f, msg = io.open(path, "rb")
  if not f then return nil, "cannot read " .. tostring(msg) end
  local src = f:read("*a")
  f:close()
  local v, err
  if path:match("%.[Jj][Ss][Oo][Nn]$") then
    v, err = cjson.decode(src)
    if v == nil then err = path .. " is not valid JSON: " .. tostring(err) end
  else
    v, err = lua_chunk(src, path)
  end
  if v == nil then return nil, err end
  local ok, why = M.check(v)
  if not ok then return nil, path .. ": " .. why end
  return v
end

local function lua_key(k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") then return k end
  return "[" .. ("%q"):format(k) .. "]"
end

local function lua_value(v, indent)
  if v == null then return "nil" end
  if type(v) == "string" then return ("%q"):format(v) end
  if type(v) ~= "table" then return canon(v) end
  local pad = indent .. "  "
  local parts = {}
  if #v > 0 then
    for i, x in ipairs(v) do parts[i] = pad .. lua_value(x, pad) end
  else
    for _, k in ipairs(sorted_keys(v)) do parts[#parts + 1] = pad .. lua_key(k) .. " = " .. lua_value(v[k], pad) end
  end
  if #parts == 0 then return "{}" end
  return "{\n" .. table.concat(parts, ",\n") .. ",\n" .. indent .. "}"
end

--- A description as the text of a Lua file (`return {...}`, keys sorted) that `load` reads back.
-- @tparam table desired
-- @treturn string
function M.dump(desired)
  return "-- zlock record locking configuration (zlock config export)\nreturn " .. lua_value(desired, "") .. "\n"
end

return M
