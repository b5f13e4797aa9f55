--- Test helper: a real HAProxy (Debian's haproxy, Lua 5.3 inside) running
-- examples/haproxy/haproxy.cfg unchanged, in front of zlock-emu.
--
--   local hx = require "hosts.haproxy_support"
--   local h = hx.start{ env = { ZOHO_API_DOMAIN = e.url, ZOHO_ACCESS_TOKEN = emu.ACCESS_TOKEN } }
--   local r = h:req("POST", "/deals/123/lock", { form = { reason = "x" } })
--   h:stop()
--
-- zlock is found the way the example says: LUA_PATH / LUA_CPATH naming this checkout's lua/
-- and its Lua 5.3 build of zlock.core.
local server = require "helpers.server"
local web = require "helpers.web"

local M = {}

M.HAPROXY = os.getenv("HAPROXY") or (io.open("/usr/sbin/haproxy") and "/usr/sbin/haproxy") or "haproxy"
M.ROOT = os.getenv("PWD") or "."

--- Starts HAProxy on a free loopback port.
-- @tparam[opt] table o `env` (ZOHO_* variables for zlock, or overrides), `config` (another .cfg)
function M.start(o)
  o = o or {}
  local port = web.free_port()
  local env = {
    LUA_PATH = M.ROOT .. "/lua/?.lua;" .. M.ROOT .. "/lua/?/init.lua;;",
    LUA_CPATH = M.ROOT .. "/build/lua5.3/?.so;;",
    ZLOCK_HAPROXY_BIND = "127.0.0.1:" .. port,
    ZLOCK_HAPROXY_HANDLER = M.ROOT .. "/examples/haproxy/handler.lua",
  }
  for k, v in pairs(o.env or {}) do env[k] = v end
  return server.start{ name = "haproxy", port = port, env = env,
    argv = { M.HAPROXY, "-db", "-f", o.config or (M.ROOT .. "/examples/haproxy/haproxy.cfg") } }
end

return M
