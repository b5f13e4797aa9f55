--- Policy parameters: the policy's `params` defaults, overridden by the environment
-- (`ZLOCK_<NAME>`, upper case) and then by `--param NAME=VALUE`. Values are converted to the
-- type of the default (number, boolean).
--
-- A misspelt parameter is refused, never ignored (a run with a default the user meant to
-- change can lock many more records than meant):
--
-- * `--param NAME=VALUE` with a NAME the policy does not declare is an error naming the
--   known parameters;
-- * an environment variable `ZLOCK_<X>` that is neither a parameter of the policy nor a
--   zlock setting (`M.SETTINGS`) is an error when X is a near miss of a parameter's name
--   (`ZLOCK_DAY` for `days`: at most two edits), and a warning otherwise (the environment is shared with other
--   tools: an unrelated variable must not stop a run).
-- @module zlock.params
local M = {}

--- `ZLOCK_*` environment variables that configure zlock itself or its test suite, never a
-- policy parameter unless the policy declares one of that name (add new settings here).
M.SETTINGS = { REDIS_URL = true, PROFILE = true, LOG = true, ORG_LIMIT = true, PROXY = true,
               ORG_BUDGET = true, ORG_RESERVE = true, ORG_ID = true,
               EMU = true, LUA = true, LUA_DIR = true, LUAJIT_CPATH = true, KEEP_NGINX = true,
               TOKEN_STORE = true, HAPROXY_BIND = true, HAPROXY_HANDLER = true }

-- Levenshtein distance between two short strings.
local function distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

local function known_list(defaults)
  local names = {}
  for k in pairs(defaults) do names[#names + 1] = tostring(k) end
  table.sort(names)
  if #names == 0 then return "this policy takes no parameters" end
  return "known: " .. table.concat(names, ", ")
end

-- The declared name closest to `name` (case-insensitive) within a third of its length in
-- edits (at most two: `day` for `days`, `prefx` for `prefix`; none for `n`), or nil.
local function near(defaults, name)
  local best, bd = nil, math.huge
  for k in pairs(defaults) do
    k = tostring(k)
    local d = distance(k:lower(), name:lower())
    if d <= math.min(2, math.floor(#k / 3)) and d < bd then best, bd = k, d end
  end
  return best
end

-- Converts string `s` to the type of the default of `k`; returns the value or nil, message.
local function convert(defaults, k, s, from)
  local def = defaults[k]
  if type(def) == "number" then
    local n = tonumber(s)
    if not n then return nil, ("%s: %s must be a number, got %q"):format(from, k, s) end
    return n
  elseif type(def) == "boolean" then
    if s ~= "true" and s ~= "false" then return nil, ("%s: %s must be true or false"):format(from, k) end
    return s == "true"
  end
  return s
end

-- Checks the environment's ZLOCK_* names: nil, error for a near miss; else the warnings.
local function check_env(defaults, env_names)
  local declared, warnings = {}, {}
  for k in pairs(defaults) do declared[tostring(k):upper()] = true end
  local unknown = {}
  for _, name in ipairs(env_names) do
    local x = name:match("^ZLOCK_(.+)$")
    if x and not declared[x] and not M.SETTINGS[x] then unknown[#unknown + 1] = x end
  end
  table.sort(unknown)
  for _, x in ipairs(unknown) do
    local k = near(defaults, x)
    if k then
      return nil, ("environment ZLOCK_%s is not a parameter of this policy: did you mean ZLOCK_%s? (%s)")
        :format(x, k:upper(), known_list(defaults))
    end
    warnings[#warnings + 1] = ("environment ZLOCK_%s is not a parameter of this policy nor a zlock setting: "
      .. "ignored (%s)"):format(x, known_list(defaults))
  end
  return warnings
end

-- The `--param` names, sorted; or nil and an error for one the policy does not declare.
local function check_overrides(defaults, overrides)
  local names = {}
  for k in pairs(overrides or {}) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do
    if defaults[k] == nil then
      local k2 = near(defaults, k)
      return nil, ("--param %s: not a parameter of this policy%s (%s)"):format(k,
        k2 and (": did you mean " .. k2 .. "?") or "", known_list(defaults))
    end
  end
  return names
end

--- Resolves a policy's parameters.
-- @tparam table p policy (its `params` table holds the defaults)
-- @tparam[opt] table overrides name -> string (e.g. from `--param name=value`)
-- @tparam[opt] function getenv (default `os.getenv`)
-- @tparam[opt] table env_names the environment's variable names, to find misspelt `ZLOCK_*`
--  ones (default: the process environment when `getenv` is `os.getenv`, else none)
-- @treturn table|nil params
-- @treturn string|nil error (an unknown `--param`, a near miss in the environment, a value
--  of the wrong type)
-- @treturn table warnings (messages: unknown `ZLOCK_*` variables that were ignored)
function M.resolve(p, overrides, getenv, env_names)
  local defaults = p.params or {}
  if env_names == nil then
    env_names = (getenv == nil or getenv == os.getenv) and require("zlock.core").environ_names() or {}
  end
  getenv = getenv or os.getenv
  local names, oerr = check_overrides(defaults, overrides)
  if not names then return nil, oerr end
  local warnings, werr = check_env(defaults, env_names)
  if not warnings then return nil, werr end
  local out = {}
  for k, v in pairs(defaults) do out[k] = v end
  for k in pairs(defaults) do
    local var = "ZLOCK_" .. tostring(k):upper()
    local s = getenv(var)
    if s and s ~= "" then
      local v, e = convert(defaults, k, s, var)
      if v == nil then return nil, e end
      out[k] = v
    end
  end
  for _, k in ipairs(names) do
    local v, e = convert(defaults, k, overrides[k], "--param")
    if v == nil then return nil, e end
    out[k] = v
  end
  return out, nil, warnings
end

return M
