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
local socket = require "socket"
local web = require "helpers.web"

local M = {}

M.HAPROXY = os.getenv("HAPROXY") or (io.open("/usr/sbin/haproxy") and "/usr/sbin/haproxy") or "haproxy"

local function sh(cmd)
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("*a")
  p:close()
  return (out:gsub("%s+$", ""))
end

M.ROOT = sh("pwd")

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local HAProxy = {}
HAProxy.__index = HAProxy

--- Starts HAProxy on a free loopback port; waits until it accepts connections.
-- @tparam[opt] table o `env` (ZOHO_* variables for zlock), `config` (another .cfg)
function M.start(o)
  o = o or {}
  local port = web.free_port()
  local log = os.tmpname()
  local env = {
    PATH = os.getenv("PATH") or "/usr/sbin:/usr/bin:/sbin:/bin",
    LUA_PATH = M.ROOT .. "/lua/?.lua;" .. M.ROOT .. "/lua/?/init.lua;;",
    LUA_CPATH = M.ROOT .. "/build/lua5.3/?.so;;",
    ZLOCK_HAPROXY_BIND = "127.0.0.1:" .. port,
    ZLOCK_HAPROXY_HANDLER = M.ROOT .. "/examples/haproxy/handler.lua",
  }
  for k, v in pairs(o.env or {}) do env[k] = v end
  local words = { "env -i" }
  for k, v in pairs(env) do words[#words + 1] = k .. "=" .. q(v) end
  local cfg = o.config or (M.ROOT .. "/examples/haproxy/haproxy.cfg")
  local cmd = "echo $$; exec " .. table.concat(words, " ") .. " " .. M.HAPROXY .. " -db -f " .. q(cfg) ..
    " >" .. q(log) .. " 2>&1"
  local pipe = assert(io.popen(cmd, "r"))
  local self = setmetatable({ pid = tonumber(pipe:read("*l")), pipe = pipe, port = port, logfile = log,
                              url = "http://127.0.0.1:" .. port }, HAProxy)
  local deadline = socket.gettime() + 10
  while true do
    local c = socket.connect("127.0.0.1", port)
    if c then c:close(); break end
    if socket.gettime() > deadline then
      local text = self:log()
      self:stop()
      error("haproxy did not start: " .. text, 2)
    end
    socket.sleep(0.05)
  end
  return self
end

--- What HAProxy printed (diagnostics).
function HAProxy:log()
  local f = io.open(self.logfile, "rb")
  if not f then return "" end
  local s = f:read("*a")
  f:close()
  return s
end

--- Stops HAProxy (TERM to the PID this helper started) and removes its log.
function HAProxy:stop()
  if not self.pipe then return end
  os.execute("kill -TERM " .. self.pid .. " 2>/dev/null")
  self.pipe:close()
  self.pipe = nil
  os.remove(self.logfile)
end

--- One HTTP request (see `helpers.web.req`).
function HAProxy:req(method, path, o) return web.req(self.url, method, path, o) end

--- Requests at once (see `helpers.web.parallel`).
function HAProxy:parallel(reqs, timeout) return web.parallel(self.port, reqs, timeout) end

return M
