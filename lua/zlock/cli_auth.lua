--- `zlock auth`: a first refresh token from a self client's grant code, saved as a profile;
-- `zlock auth status`: which profile, data centre, environment and token are in use (never a
-- secret).
--
--     zlock auth [--profile NAME] [--dc DC] [--env ENV] [--accounts-domain URL] [--api-domain URL]
--                [--client-id ID] [--client-secret SECRET] [--code CODE]
--     zlock auth status [--profile NAME] [--json]
--
-- The client id and secret default to `ZOHO_CLIENT_ID` / `ZOHO_CLIENT_SECRET`; without
-- `--code` the grant code is read from the first line of standard input (so it stays out of
-- the shell history). The profile defaults to `ZLOCK_PROFILE`, else `default`. The access token
-- the exchange returned goes into the token store the profile's clients use, under their key,
-- so their first call mints nothing (a store that fails: one warning line, auth still succeeds).
-- @module zlock.cli_auth
local credentials = require "zlock.credentials"
local cjson = require "cjson.safe"

local M = {}

M.USAGE = [[
Usage: zlock auth [--profile NAME] [--dc DC] [--env ENV] [--accounts-domain URL]
                  [--api-domain URL] [--client-id ID] [--client-secret SECRET] [--code CODE]
       zlock auth status [--profile NAME] [--json]

auth         exchanges a self client's grant code (api-console.zoho.com: Self Client,
             Generate Code, with the scopes zlock needs) for a refresh token and saves it,
             with the client id and secret, as profile NAME (default: ZLOCK_PROFILE, else
             "default") in ~/.config/zlock/credentials (0600). The code is read from
             standard input when --code is not given; id and secret default to
             ZOHO_CLIENT_ID / ZOHO_CLIENT_SECRET. The access token the exchange returned
             is cached in the token store the profile's calls use (the file store,
             ZLOCK_REDIS_URL's Redis, none with ZLOCK_TOKEN_STORE=none), so the first
             call mints no token.
auth status  shows the profile, data centre, environment, domains, token store and the
             cached access token's expiry in use. Never a secret.
]]

local VALUE = { ["--profile"] = "profile", ["--dc"] = "dc", ["--env"] = "env",
  ["--accounts-domain"] = "accounts_domain", ["--api-domain"] = "api_domain", ["--client-id"] = "client_id",
  ["--client-secret"] = "client_secret", ["--code"] = "code" }
local FLAG = { ["--json"] = "json", ["--help"] = "help", ["-h"] = "help" }
-- global options of `zlock` that may come before the command
local GLOBAL_VALUE = { ["--api-domain"] = true, ["--dc"] = true, ["--profile"] = true }

--- True when argv's command is `auth`.
-- @tparam table argv
function M.is_auth(argv)
  local i = 1
  while i <= #argv do
    local a = argv[i]
    if GLOBAL_VALUE[a] then i = i + 1
    elseif not a:match("^%-") then return a == "auth" end
    i = i + 1
  end
  return false
end

local function parse(argv)
  local o, pos = {}, {}
  local i = 1
  while i <= #argv do
    local a = argv[i]
    local name, inline = a:match("^(%-%-[%w%-]+)=(.*)$")
    name = name or a
    if VALUE[name] then
      local v = inline
      if v == nil then i = i + 1; v = argv[i] end
      if v == nil then return nil, name .. " needs a value" end
      o[VALUE[name]] = v
    elseif FLAG[a] then
      o[FLAG[a]] = true
    elseif a:match("^%-") then
      return nil, "unknown option " .. a
    else
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  if pos[1] ~= "auth" then return nil, "expected the auth command" end
  if pos[2] and pos[2] ~= "status" then return nil, "unknown auth subcommand " .. pos[2] end
  if pos[3] then return nil, "too many arguments" end
  return o, pos[2]
end

local function usage(msg)
  io.stderr:write("zlock: ", msg, "\n", "Try 'zlock auth --help'.\n")
  return 2
end

local function env(name)
  local v = os.getenv(name)
  if v == "" then return nil end
  return v
end

-- The exchange's access token put where the profile's clients look for it: the token store
-- they use (built the way `zlock --profile NAME get` builds its client), under their key, so
-- their first call mints nothing. Returns the store's name, false when they use none, or nil
-- and why (never a secret).
local function cache_token(profile, g, minted_at)
  if not g.access_token then return nil, "the exchange returned no access token" end
  local p, perr = credentials.profile(profile)
  if not p then return nil, perr or "the saved profile cannot be read" end
  local zlock = require "zlock"
  local c, err = zlock.new(zlock.env_options(p))
  if not c then return nil, tostring(err) end
  local expires_at = (tonumber(g.expires_in) or 0) > 0 and minted_at + g.expires_in or 0
  local ok, stored, serr = pcall(c._core.store_token, c._core, g.access_token, expires_at, g.api_domain)
  c:close()
  if not ok then return nil, tostring(stored) end
  if stored == nil then return nil, tostring(require("zlock.error").new(serr)) end
  return stored
end

-- A store that fails does not fail auth (the profile is saved): one line on stderr, as it
-- costs a token later.
local function seed(profile, g, minted_at)
  local ok, stored, why = pcall(cache_token, profile, g, minted_at)
  if ok and stored ~= nil then return end
  local msg = tostring(ok and why or stored):gsub("%c+", " ")
  io.stderr:write("zlock: auth: warning: the access token was not cached (", msg,
    "); the first call will mint another\n")
end

local function login(o)
  local id = o.client_id or env("ZOHO_CLIENT_ID")
  local secret = o.client_secret or env("ZOHO_CLIENT_SECRET")
  if not id or not secret then
    return usage("auth needs --client-id and --client-secret (or ZOHO_CLIENT_ID / ZOHO_CLIENT_SECRET)")
  end
  local code = o.code
  if not code then code = (io.read("*l") or ""):match("^%s*(.-)%s*$") end
  if code == "" then return usage("auth needs the grant code (--code CODE, or on standard input)") end
  local profile = o.profile or env("ZLOCK_PROFILE") or "default"
  if not profile:match("^[%w_.%-]+$") then return usage("profile names are letters, digits, _ . -") end
  local values = { dc = o.dc or env("ZOHO_DC"), env = o.env or env("ZOHO_ENV"),
    accounts_domain = o.accounts_domain or env("ZOHO_ACCOUNTS_DOMAIN"), api_domain = o.api_domain,
    client_id = id, client_secret = secret }
  local core = require "zlock.core"
  local minted_at = os.time()   -- before the request: the expiry errs early, never late
  local g, err = core.exchange_code(values, code)
  if not g then
    io.stderr:write("zlock: auth failed: ", tostring(require("zlock.error").new(err)), "\n")
    return 1
  end
  values.refresh_token = g.refresh_token
  local path, werr = credentials.save(profile, values)
  if not path then io.stderr:write("zlock: auth: cannot save the profile: ", werr, "\n"); return 1 end
  local where = values.env and values.env ~= "production" and (" " .. values.env) or ""
  io.stdout:write(("saved profile %s (dc %s%s) to %s\n"):format(profile, values.dc or "us", where, path))
  seed(profile, g, minted_at)
  return 0
end

local function tail(s)
  if not s then return nil end
  return s:len() > 8 and ("..." .. s:sub(-4)) or "(set)"
end

--- What `zlock auth status` reports (no secret in it).
-- @tparam[opt] string name profile
-- @treturn table|nil
-- @treturn string|nil error
function M.status(name)
  local p, pname = credentials.profile(name)
  if not p and pname then return nil, pname end
  local zlock = require "zlock"
  local o = zlock.env_options(p or {})
  local c, err = zlock.new(o)
  if not c then return nil, tostring(err) end
  local info = c:info()
  c:close()
  local _, path = credentials.path()
  local st = { profile = pname, source = pname and path or "environment", dc = o.dc or "us",
    env = o.env or "production", api_domain = info.api_domain, accounts_domain = info.accounts_domain,
    client_id = tail(o.client_id), auth = info.can_refresh and "refresh flow" or "access token",
    token_store = info.token_store, token_expires_at = info.stored_token_expires_at }
  return st
end

local function show_status(o)
  local st, err = M.status(o.profile)
  if not st then io.stderr:write("zlock: auth status: ", err, "\n"); return 1 end
  if o.json then io.stdout:write(cjson.encode(st), "\n"); return 0 end
  local exp = "none cached"
  if st.token_expires_at and st.token_expires_at > 0 then
    local left = st.token_expires_at - os.time()
    exp = os.date("!%Y-%m-%d %H:%M:%S UTC", math.floor(st.token_expires_at)) ..
      (left > 0 and (" (in %d min)"):format(math.floor(left / 60)) or " (expired)")
  end
  io.stdout:write(("profile       %s\n"):format(st.profile and (st.profile .. " (" .. st.source .. ")") or st.source),
    ("dc / env      %s / %s\n"):format(st.dc, st.env),
    ("api domain    %s\n"):format(st.api_domain),
    ("accounts      %s\n"):format(st.accounts_domain),
    ("auth          %s%s\n"):format(st.auth, st.client_id and (", client id " .. st.client_id) or ""),
    ("token store   %s\n"):format(st.token_store),
    ("access token  %s\n"):format(st.auth == "refresh flow" and exp or "given"))
  return 0
end

--- Runs `zlock auth ...`. Returns the exit status.
-- @tparam table argv
function M.main(argv)
  local o, sub = parse(argv)
  if not o then return usage(sub) end
  if o.help then io.stdout:write(M.USAGE); return 0 end
  if sub == "status" then return show_status(o) end
  return login(o)
end

return M
