--- Shared helpers of the spec/core specs (not a spec itself): starting zlock-emu, building
-- clients on it, reading the emulator's own view (state, stats) so specs check zlock's answers
-- against the server's, never against zlock itself.
local emu = require "helpers.emu"
local org = require "helpers.emu_org"
local zlock = require "zlock"

local M = { emu = emu, org = org }

--- Starts an emulator with the demo org plus `args`.
function M.start(args)
  local all = { "--seed", "demo" }
  for _, a in ipairs(args or {}) do all[#all + 1] = a end
  return emu.start(all)
end

--- A zlock client on emulator `e` with the demo access token; `opts` overrides/extends.
function M.client(e, opts)
  local o = { api_domain = e.url, access_token = emu.ACCESS_TOKEN }
  for k, v in pairs(opts or {}) do o[k] = v end
  return assert(zlock.new(o))
end

--- A client that authenticates with the demo OAuth client (accounts domain = the emulator).
-- No token store: these specs count what one client mints (spec/tokens covers the stores).
function M.oauth_client(e, opts)
  local o = { api_domain = e.url, accounts_domain = e.url, client_id = emu.CLIENT_ID,
              client_secret = emu.CLIENT_SECRET, refresh_token = emu.REFRESH_TOKEN, token_store = "none" }
  for k, v in pairs(opts or {}) do o[k] = v end
  return assert(zlock.new(o))
end

--- Requests the emulator answered on Zoho's routes (everything but /__emu/ admin calls),
-- from GET /__emu/stats `requests` = { route = { status = count } }.
function M.api_requests(e)
  local s = e:stats()
  local n = 0
  for route, by_status in pairs(assert(s.requests, "emulator stats carry no `requests`")) do
    if route ~= "admin" then
      for _, count in pairs(by_status) do n = n + count end
    end
  end
  return n, s
end

--- Tokens the emulator's OAuth endpoint has minted so far.
function M.tokens_minted(e)
  local s = e:stats()
  return assert(s.tokens_minted, "emulator stats carry no tokens_minted"), s
end

--- How many replies with HTTP `status` the emulator sent on Zoho's routes so far.
function M.status_count(e, status)
  local s = e:stats()
  local n = 0
  for route, by_status in pairs(assert(s.requests, "emulator stats carry no `requests`")) do
    if route ~= "admin" then n = n + (by_status[tostring(status)] or 0) end
  end
  return n, s
end

--- Every string an error object can show a person: tostring, message, code, details (JSON).
function M.error_text(err)
  if type(err) ~= "table" then return tostring(err) end
  local cjson = require "cjson.safe"
  return table.concat({ tostring(err), tostring(err.message), tostring(err.code),
                        tostring(cjson.encode(err.details) or "") }, "\n")
end

--- The locks the emulator's state (GET /__emu/state) holds for `module`/`record_id`:
-- a list of `{lock_id, source, reason, module, record_id, ...}`.
function M.state_locks(e, module, record_id)
  local st = e:state()
  local out = {}
  for _, l in ipairs(assert(st.locks, "emulator state carries no `locks`")) do
    if l.record_id == record_id and l.module == module then out[#out + 1] = l end
  end
  return out, st
end

--- The interpreter the suite runs under (for subprocesses): ZLOCK_LUA, else from _VERSION.
function M.lua_bin()
  local env = os.getenv("ZLOCK_LUA")
  if env and env ~= "" then return env end
  if rawget(_G, "jit") then return "luajit" end
  return "lua" .. _VERSION:match("%d+%.%d+")
end

local function shell_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
M.shell_quote = shell_quote

--- Runs `code` in a fresh interpreter (the suite's Lua) with environment `env` (name -> value;
-- false removes a variable) and zlock on its paths; `prefix` (e.g. "unshare -n") wraps the child.
-- Returns stdout+stderr and the exit success.
function M.run_lua(code, env, prefix)
  local parts = { prefix or "", "env" }
  for _, name in ipairs{ "ZOHO_ACCESS_TOKEN", "ZOHO_REFRESH_TOKEN", "ZOHO_CLIENT_ID", "ZOHO_CLIENT_SECRET",
                         "ZOHO_DC", "ZOHO_API_DOMAIN", "ZOHO_ACCOUNTS_DOMAIN", "ZOHO_API_VERSION" } do
    parts[#parts + 1] = "-u " .. name
  end
  for k, v in pairs(env or {}) do
    if v then parts[#parts + 1] = k .. "=" .. shell_quote(v) end
  end
  parts[#parts + 1] = shell_quote(M.lua_bin())
  parts[#parts + 1] = "-e"
  parts[#parts + 1] = shell_quote("package.path = 'lua/?.lua;lua/?/init.lua;spec/?.lua;' .. package.path; "
    .. "package.cpath = 'build/" .. M.lua_bin() .. "/?.so;' .. package.cpath; " .. code)
  local p = assert(io.popen(table.concat(parts, " ") .. " 2>&1"))
  local out = p:read("*a")
  local ok = p:close()
  return out, ok == true or ok == 0
end

--- Every `id`-like value in a (nested) result table: keys `id` and `*_Id__s`, and values at
-- `Locked_For__s.id`/`module.id`. Returns a list of {path, value}.
function M.ids_in(t, path, out)
  out = out or {}
  path = path or ""
  for k, v in pairs(t) do
    local p = path .. "." .. tostring(k)
    if type(v) == "table" then
      M.ids_in(v, p, out)
    elseif k == "id" or (type(k) == "string" and k:match("_Id__s$")) then
      out[#out + 1] = { p, v }
    end
  end
  return out
end

--- A free loopback TCP port nobody listens on (bound, then closed).
function M.closed_port()
  local socket = require "socket"
  local s = assert(socket.bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return tonumber(port)
end

return M
