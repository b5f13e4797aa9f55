--- Test helper: a real Apache httpd with mod_lua (Debian's apache2, Lua 5.3 inside) running
-- examples/apache/zlock.conf unchanged, in front of zlock-emu. Apache drops privileges to
-- www-data: it serves a copy of the checkout's Lua files and Lua 5.3 module from its run
-- directory, which that user can read wherever the checkout is.
local server = require "helpers.server"
local web = require "helpers.web"

local M = {}

M.APACHE = os.getenv("APACHE2") or (io.open("/usr/sbin/apache2") and "/usr/sbin/apache2") or "apache2"
M.ROOT = os.getenv("PWD") or "."

--- Starts Apache on a free loopback port.
-- @tparam[opt] table o `env` (ZOHO_* variables for zlock)
function M.start(o)
  o = o or {}
  local port = web.free_port()
  local run = os.tmpname()
  os.remove(run)
  -- a copy of what Apache's www-data user reads: the checkout may sit where it cannot
  local root = run .. "/zlock"
  assert(os.execute("mkdir -p " .. root .. "/build " .. root .. "/examples && chmod -R a+rwX " .. run ..
    " && cp -r " .. M.ROOT .. "/lua " .. root .. "/ && cp -r " .. M.ROOT .. "/build/lua5.3 " .. root .. "/build/" ..
    " && cp -r " .. M.ROOT .. "/examples/apache " .. root .. "/examples/ && chmod -R a+rX " .. root))
  local env = { ZLOCK_ROOT = root, ZLOCK_APACHE_LISTEN = "127.0.0.1:" .. port, ZLOCK_APACHE_RUN = run }
  for k, v in pairs(o.env or {}) do env[k] = v end
  -- WINCH: graceful stop (Apache's TERM makes its children exit at once, which is fine too)
  local s = server.start{ name = "apache2", port = port, env = env, logs = { run .. "/error.log" },
    argv = { M.APACHE, "-f", M.ROOT .. "/examples/apache/zlock.conf", "-DFOREGROUND" } }
  local stop = s.stop
  s.stop = function(self)
    stop(self)
    local deadline = os.time() + 5   -- the parent exits after its children: then remove its files
    while io.open(run .. "/httpd.pid") and os.time() < deadline do os.execute("sleep 0.05") end
    os.execute("rm -rf " .. run)
  end
  return s
end

return M
