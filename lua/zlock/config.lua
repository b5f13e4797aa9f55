--- Record locking configuration: a module's locking settings and rules
-- (`settings/record_locking_configurations`), read and written through the client.
--
--     local cfg = c:lock_config("Deals")            -- the configuration, or false when none
--     c:create_lock_config("Accounts", { lock_type = "manual", restricted_actions = { "update" } })
--     c:update_lock_config("Accounts", { lock_type = "both" })          -- the module's one configuration
--     c:add_lock_rule("Accounts", { name = "Big ones", criteria = {
--       comparator = "greater_than", field = { api_name = "Annual_Revenue" }, value = 1000000 } })
--     c:delete_lock_config("Accounts", cfg.id)
--
-- Every call goes through `c:request` (the core builds it, retries 429/5xx, refreshes the
-- token, classifies errors), so failures are `nil, err` with Zoho's code, as for locks:
-- `INVALID_DATA`, `MANDATORY_NOT_FOUND`, `DEPENDENT_FIELD_MISSING`, `LIMIT_EXCEEDED`,
-- `NOT_SUPPORTED`, `NO_PERMISSION` (HTTP 403, `err.details.permissions`)... Module names are
-- checked by the core (`bad argument` before any request). Results are Lua tables with Zoho's
-- field names; lists are arrays; ids are strings.
--
-- Configuration as code (`plan`, `apply`, `export`, `load`, `dump`) is in `zlock.config_plan`
-- and re-exported here.
-- @module zlock.config
local core = require "zlock.core"
local errors = require "zlock.error"
local json = require("cjson.safe").new()

local M = {}

--- The API path, relative to `/crm/{version}/`.
M.PATH = "settings/record_locking_configurations"
--- The key Zoho wraps configurations (and their replies) in.
M.KEY = "record_locking_configurations"
--- Members that are lists in Zoho's configuration (JSON arrays, `[]` when empty).
M.LISTS = { excluded_fields = true, restricted_actions = true, restricted_communications = true,
            restricted_custom_buttons = true, lock_excluded_profiles = true, locking_rules = true, group = true }

-- Level 4: error <- argerr <- check_x <- public function <- its caller.
local function argerr(n, fname, msg)
  error(("bad argument #%d to '%s' (%s)"):format(n, fname, msg), 4)
end

local function check_module(v, fname)
  if type(v) ~= "string" then argerr(1, fname, "module name expected, got " .. type(v)) end
  local why = core.check_module(v)
  if why then argerr(1, fname, "module name " .. why) end
end

local function check_id(v, n, fname, what)
  if type(v) ~= "string" then argerr(n, fname, what .. " expected as a string of digits, got " .. type(v)) end
  local why = core.check_id(v)
  if why then argerr(n, fname, what .. " " .. why) end
end

local function check_table(v, n, fname, what)
  if type(v) ~= "table" then argerr(n, fname, what .. " table expected, got " .. type(v)) end
end

-- The first item of a write reply ({"record_locking_configurations":[{code, details, message,
-- status}]}) with `id` = details.id; an item whose status is "error" is returned as the error.
local function write_result(doc, status)
  local list = type(doc) == "table" and doc[M.KEY]
  local item = type(list) == "table" and list[1]
  if type(item) ~= "table" then
    return nil, errors.new{ code = "BAD_RESPONSE", message = "reply has no " .. M.KEY .. " item", http_status = status }
  end
  if item.status == "error" then
    return nil, errors.new{ code = item.code or "ERROR", message = item.message, details = item.details,
                            http_status = status }
  end
  item.id = type(item.details) == "table" and item.details.id or nil
  return item
end

-- An empty Lua table under a M.LISTS member is sent as [] (lua-cjson writes {} for it, which
-- Zoho refuses as INVALID_DATA).
local LISTS = M.LISTS
local EMPTY = "\1zlock:[]\1"

local function mark_empty(v, depth)
  if type(v) ~= "table" or depth > 32 then return v end
  local out = {}
  for k, x in pairs(v) do
    if LISTS[k] and type(x) == "table" and next(x) == nil then out[k] = EMPTY else out[k] = mark_empty(x, depth + 1) end
  end
  return out
end

--- A request body as JSON, with empty configuration lists as `[]`.
-- @tparam table body
-- @treturn string
function M.encode(body)
  local s = assert(json.encode(mark_empty(body, 0)))
  return (s:gsub('"\\u0001zlock:%[%]\\u0001"', "[]"))
end

local function send(c, method, path, module, body, query)
  query = query or {}
  query.module = module
  local doc, status = c:request(method, path, { query = query, body = body and M.encode(body) })
  if doc == nil then return nil, status end
  return write_result(doc, status)
end

--- The module's record locking configuration.
-- @param c client
-- @tparam string module module API name
-- @treturn table|boolean the configuration (`id`, `lock_type`, `locked_for`, `locking_rules`,
--   `restricted_actions`, `excluded_fields`, `lock_excluded_profiles`, ...), or `false` when the
--   module has none (Zoho answers 204); or `nil, err`
function M.get(c, module)
  check_module(module, "lock_config")
  local doc, status = c:request("GET", M.PATH, { query = { module = module } })
  if doc == nil then return nil, status end
  if status == 204 then return false end
  local list = type(doc) == "table" and doc[M.KEY]
  if type(list) ~= "table" then
    return nil, errors.new{ code = "BAD_RESPONSE", message = "reply has no " .. M.KEY .. " array",
                            http_status = status }
  end
  return list[1] or false
end

--- Creates the module's configuration (POST; Zoho allows one per module).
-- @param c client
-- @tparam string module module API name
-- @tparam table cfg the configuration (`lock_type` is required; Zoho's field names)
-- @treturn table `{id=, code=, details=, message=, status=}`; or `nil, err`
function M.create(c, module, cfg)
  check_module(module, "create_lock_config")
  check_table(cfg, 2, "create_lock_config", "configuration")
  return send(c, "POST", M.PATH, module, { [M.KEY] = { cfg } })
end

--- Changes the module's configuration: the fields given, the rest stays. Without `id` the
-- bulk form (PUT without an id in the path) changes the module's one configuration.
-- @param c client
-- @tparam string module module API name
-- @tparam table changes fields to change; `locking_rules` items with an `id` change that rule,
--   without one add a rule, with `_delete = true` remove it
-- @tparam[opt] string id the configuration id
-- @treturn table `{id=, code=, details=, message=, status=}`; or `nil, err`
function M.update(c, module, changes, id)
  check_module(module, "update_lock_config")
  check_table(changes, 2, "update_lock_config", "changes")
  if id ~= nil then check_id(id, 3, "update_lock_config", "configuration id") end
  return send(c, "PUT", id and (M.PATH .. "/" .. id) or M.PATH, module, { [M.KEY] = { changes } })
end

--- Deletes the module's configuration. Its locks cannot be read or changed without one: zlock-emu
-- removes them (Zoho does not document what becomes of them).
-- @param c client
-- @tparam string module module API name
-- @tparam string id the configuration id (required: Zoho refuses a DELETE without one)
-- @treturn table `{id=, code=, details=, message=, status=}`; or `nil, err`
function M.delete(c, module, id)
  check_module(module, "delete_lock_config")
  check_id(id, 2, "delete_lock_config", "configuration id")
  return send(c, "DELETE", M.PATH .. "/" .. id, module, nil)
end

-- The configuration id of `module` (one GET), or nil, err (NOT_CONFIGURED when none).
local function config_id(c, module)
  local cfg, err = M.get(c, module)
  if cfg == nil then return nil, err end
  if not cfg then
    return nil, errors.new{ code = "NOT_CONFIGURED", message = module .. " has no record locking configuration" }
  end
  return cfg.id
end

local function rule_update(c, module, rule)
  local id, err = config_id(c, module)
  if not id then return nil, err end
  return send(c, "PUT", M.PATH .. "/" .. id, module, { [M.KEY] = { { locking_rules = { rule } } } })
end

--- Adds a locking rule (`name`, `criteria`, `lock_existing_records`): a GET for the
-- configuration id, then a PUT. `nil, err` with code `NOT_CONFIGURED` when the module has
-- no configuration.
-- @param c client
-- @tparam string module module API name
-- @tparam table rule the rule
-- @treturn table the PUT's result; or `nil, err`
function M.add_rule(c, module, rule)
  check_module(module, "add_lock_rule")
  check_table(rule, 2, "add_lock_rule", "rule")
  if rule.id ~= nil then error("bad argument #2 to 'add_lock_rule' (a new rule has no id)", 2) end
  return rule_update(c, module, rule)
end

--- Changes a locking rule: the fields of `changes` (`name`, `criteria`, `lock_existing_records`).
-- @param c client
-- @tparam string module module API name
-- @tparam string rule_id the rule id
-- @tparam table changes the fields to change
-- @treturn table the PUT's result; or `nil, err`
function M.update_rule(c, module, rule_id, changes)
  check_module(module, "update_lock_rule")
  check_id(rule_id, 2, "update_lock_rule", "rule id")
  check_table(changes, 3, "update_lock_rule", "changes")
  local rule = { id = rule_id }
  for k, v in pairs(changes) do if k ~= "id" then rule[k] = v end end
  return rule_update(c, module, rule)
end

--- Deletes a locking rule (`_delete` on update); its automatic locks go with it.
-- @param c client
-- @tparam string module module API name
-- @tparam string rule_id the rule id
-- @treturn table the PUT's result; or `nil, err`
function M.delete_rule(c, module, rule_id)
  check_module(module, "delete_lock_rule")
  check_id(rule_id, 2, "delete_lock_rule", "rule id")
  return rule_update(c, module, { id = rule_id, _delete = true })
end

-- Configuration as code lives in zlock.config_plan (loaded on first use).
for _, name in ipairs{ "plan", "apply", "export", "load", "dump", "check" } do
  M[name] = function(...) return require("zlock.config_plan")[name](...) end
end

--- Client methods: `c:lock_config(module)`, `c:create_lock_config(module, cfg)`,
-- `c:update_lock_config(module, changes[, id])`, `c:delete_lock_config(module, id)`,
-- `c:add_lock_rule(module, rule)`, `c:update_lock_rule(module, rule_id, changes)`,
-- `c:delete_lock_rule(module, rule_id)`.
M.METHODS = { lock_config = "get", create_lock_config = "create", update_lock_config = "update",
              delete_lock_config = "delete", add_lock_rule = "add_rule", update_lock_rule = "update_rule",
              delete_lock_rule = "delete_rule" }

--- Installs the client methods (`M.METHODS`) on a client class.
-- @tparam table Client the client method table
function M.install(Client)
  for method, fn in pairs(M.METHODS) do Client[method] = M[fn] end
end

return M
