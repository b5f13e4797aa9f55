--- The credentials file: profiles of connection settings and secrets, for the CLI.
--
-- `$XDG_CONFIG_HOME/zlock/credentials` (else `~/.config/zlock/credentials`), mode 0600 in a
-- 0700 directory, written atomically. One section per profile:
--
--     [sandbox]
--     dc = eu
--     env = sandbox
--     client_id = 1000.XXXX
--     client_secret = ...
--     refresh_token = 1000.xxxx.yyyy
--
-- Keys are `zlock.new` options: dc, env, api_domain, accounts_domain, client_id,
-- client_secret, refresh_token. `zlock auth` writes it; `--profile NAME` / `ZLOCK_PROFILE`
-- pick a profile (without either, `default` when no credentials are in the environment).
-- @module zlock.credentials
local M = {}

--- Keys a profile may hold.
M.KEYS = { "dc", "env", "api_domain", "accounts_domain", "client_id", "client_secret", "refresh_token" }
local KNOWN = {}
for _, k in ipairs(M.KEYS) do KNOWN[k] = true end

--- The directory and the file's path.
-- @treturn string|nil directory (nil when neither XDG_CONFIG_HOME nor HOME is set)
-- @treturn string path
function M.path()
  local xdg, home = os.getenv("XDG_CONFIG_HOME"), os.getenv("HOME")
  local dir
  if xdg and xdg:sub(1, 1) == "/" then dir = xdg .. "/zlock"
  elseif home and home ~= "" then dir = home .. "/.config/zlock" end
  if not dir then return nil end
  return dir, dir .. "/credentials"
end

--- Parses credentials text.
-- @tparam string text
-- @treturn table profiles `{ name = { key = value } }`, and their names in file order
-- @treturn table|string names, or the error message (with the line number) when malformed
function M.parse(text)
  local profiles, order, cur = {}, {}, nil
  local n = 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    local s = line:match("^%s*(.-)%s*$")
    if s:match("^%[") then
      local name = s:match("^%[([%w_.%-]+)%]$")
      if not name then return nil, "line " .. n .. ": bad profile header " .. s end
      if not profiles[name] then profiles[name] = {}; order[#order + 1] = name end
      cur = profiles[name]
    elseif s ~= "" and not s:match("^[#;]") then   -- not blank, not a comment
      local k, v = s:match("^([%w_]+)%s*=%s*(.-)$")
      if not k or not cur then return nil, "line " .. n .. ": expected [profile] or key = value" end
      if not KNOWN[k] then return nil, "line " .. n .. ": unknown key " .. k end
      cur[k] = v
    end
  end
  return profiles, order
end

--- Reads the file. A missing file is an empty set of profiles.
-- @treturn table|nil profiles
-- @treturn table|string names in order, or an error message
function M.read()
  local _, path = M.path()
  if not path then return {}, {} end
  local f = io.open(path, "r")
  if not f then return {}, {} end
  local text = f:read("*a")
  f:close()
  local p, order = M.parse(text)
  if not p then return nil, path .. ": " .. order end
  return p, order
end

--- Serialises profiles (names in `order`, then any others sorted).
-- @tparam table profiles
-- @tparam[opt] table order
-- @treturn string
function M.format(profiles, order)
  local names, seen = {}, {}
  for _, n in ipairs(order or {}) do
    if profiles[n] and not seen[n] then names[#names + 1] = n; seen[n] = true end
  end
  local rest = {}
  for n in pairs(profiles) do if not seen[n] then rest[#rest + 1] = n end end
  table.sort(rest)
  for _, n in ipairs(rest) do names[#names + 1] = n end
  local out = { "# zlock credentials (zlock auth writes this file; keep it 0600)\n" }
  for _, n in ipairs(names) do
    out[#out + 1] = "\n[" .. n .. "]\n"
    for _, k in ipairs(M.KEYS) do
      local v = profiles[n][k]
      if v and v ~= "" then out[#out + 1] = k .. " = " .. v .. "\n" end
    end
  end
  return table.concat(out)
end

--- Saves one profile (replacing a profile of that name), keeping the others.
-- @tparam string name
-- @tparam table values
-- @treturn string|nil the path written
-- @treturn string|nil error message
function M.save(name, values)
  if not name:match("^[%w_.%-]+$") then return nil, "profile names are letters, digits, _ . -" end
  for _, v in pairs(values) do
    if tostring(v):find("[%c]") then return nil, "a value holds control characters" end
  end
  local dir, path = M.path()
  if not dir then return nil, "neither XDG_CONFIG_HOME nor HOME is set" end
  local profiles, order = M.read()
  if not profiles then return nil, order end
  profiles[name] = values
  local ok, err = require("zlock.core").write_private(dir, "credentials", M.format(profiles, order))
  if not ok then return nil, err end
  return path
end

local function env_has_credentials()
  for _, v in ipairs{ "ZOHO_ACCESS_TOKEN", "ZOHO_REFRESH_TOKEN" } do
    local s = os.getenv(v)
    if s and s ~= "" then return true end
  end
  return false
end

--- The profile to use: `name`, else `ZLOCK_PROFILE`, else `default` when the environment
-- holds no credentials and the file has it.
-- @tparam[opt] string name
-- @treturn table|nil the profile's values (a copy), or nil when none applies
-- @treturn string|nil the profile name, or an error message (an explicit profile that does
--  not exist, a malformed file)
function M.profile(name)
  local explicit = name or os.getenv("ZLOCK_PROFILE")
  if explicit == "" then explicit = nil end
  if not explicit and env_has_credentials() then return nil end
  local profiles, order = M.read()
  if not profiles then return nil, order end
  local want = explicit or "default"
  local p = profiles[want]
  if not p then
    if explicit then
      local _, path = M.path()
      return nil, "no profile '" .. explicit .. "' in " .. tostring(path) .. " (create it with: zlock auth --profile "
        .. explicit .. " ...)"
    end
    return nil
  end
  local copy = {}
  for k, v in pairs(p) do copy[k] = v end
  return copy, want
end

return M
