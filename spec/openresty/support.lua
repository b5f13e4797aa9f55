--- Test helper: a real nginx (Debian nginx-light + libnginx-mod-http-lua) running
-- examples/openresty/ in a temporary prefix, in front of zlock-emu.
--
--   local ngxs = require "openresty.support"
--   local n = ngxs.start{ env = { ZOHO_API_DOMAIN = e.url, ZOHO_ACCESS_TOKEN = emu.ACCESS_TOKEN } }
--   local r = n:req("POST", "/deals/123/lock", { form = { reason = "x" } })  -- {status, body, json, headers}
--   n:stop()
--
-- The nginx.conf is the example's, with /path/to/zlock set to this checkout, a free loopback
-- port, the resolver line removed (only loopback is reached), `user root;` when run as root
-- (workers would otherwise run as nobody and may not read the checkout), and every response
-- carrying `X-Worker-Pid` (which worker served it).
local socket = require "socket"
local web = require "helpers.web"

local M = {}

-- /usr/sbin is not on every user's PATH
M.NGINX = os.getenv("NGINX") or (io.open("/usr/sbin/nginx") and "/usr/sbin/nginx") or "nginx"

local function sh(cmd)
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("*a")
  p:close()
  return (out:gsub("%s+$", ""))
end

M.ROOT = sh("pwd")
-- the LuaJIT build of zlock.core nginx loads (override for experiments: ZLOCK_LUAJIT_CPATH)
M.CPATH = os.getenv("ZLOCK_LUAJIT_CPATH") or (M.ROOT .. "/build/luajit/?.so")
-- the Lua modules nginx loads (override for experiments: ZLOCK_LUA_DIR)
M.LUA_DIR = os.getenv("ZLOCK_LUA_DIR") or (M.ROOT .. "/lua")

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function plain_replace(s, old, new)
  local i, j = s:find(old, 1, true)
  assert(i, "example nginx.conf has no '" .. old .. "'")
  return s:sub(1, i - 1) .. new .. s:sub(j + 1)
end

--- The example config adapted to a test prefix.
-- @tparam table o `port`, `workers`, `reuseport`, `extra_server` (directives added to the server),
--   `extra_http` (directives added to the http block, e.g. another server), `trusted_certificate`
--   (CA file for `lua_ssl_trusted_certificate`)
function M.config(o)
  local conf = assert(read(M.ROOT .. "/examples/openresty/nginx.conf"))
  conf = conf:gsub("/path/to/zlock/build/luajit/%?%.so", (M.CPATH:gsub("%%", "%%%%")))
  conf = conf:gsub("/path/to/zlock/lua/", (M.LUA_DIR:gsub("%%", "%%%%")) .. "/")
  conf = conf:gsub("/path/to/zlock", (M.ROOT:gsub("%%", "%%%%")))
  conf = plain_replace(conf, "listen 127.0.0.1:8080;",
    "listen 127.0.0.1:" .. o.port .. (o.reuseport and " reuseport" or "") .. ";")
  conf = plain_replace(conf, "worker_processes 1;", "worker_processes " .. (o.workers or 1) .. ";")
  conf = conf:gsub("\n%s*resolver [^\n]*", "\n")
  if o.trusted_certificate then
    conf = conf:gsub("lua_ssl_trusted_certificate [^\n]*",
                     "lua_ssl_trusted_certificate " .. o.trusted_certificate:gsub("%%", "%%%%") .. ";")
  elseif not read("/etc/ssl/certs/ca-certificates.crt") then
    conf = conf:gsub("\n%s*lua_ssl_trusted_certificate [^\n]*", "\n")
  end
  if o.extra_http then
    conf = plain_replace(conf, "    server {\n", o.extra_http .. "\n    server {\n")
  end
  conf = plain_replace(conf, "default_type application/json;",
    "default_type application/json;\n        add_header X-Worker-Pid $pid always;\n" .. (o.extra_server or ""))
  if sh("id -u") == "0" then conf = "user root;\n" .. conf end
  return conf
end

local Nginx = {}
Nginx.__index = Nginx

--- Starts nginx; waits until it accepts connections.
-- @tparam[opt] table o `env` (variables for nginx, e.g. ZOHO_API_DOMAIN), `workers` (default 1),
--   `reuseport`, `extra_server`, `extra_http` (string, or function(prefix dir) -> string),
--   `trusted_certificate`
function M.start(o)
  o = o or {}
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. q(dir) .. " && chmod 755 " .. q(dir)))
  local port = web.free_port()
  local extra_http = o.extra_http
  if type(extra_http) == "function" then extra_http = extra_http(dir) end
  write(dir .. "/nginx.conf", M.config{ port = port, workers = o.workers, reuseport = o.reuseport,
                                        extra_server = o.extra_server, extra_http = extra_http,
                                        trusted_certificate = o.trusted_certificate })
  write(dir .. "/handler.lua", assert(read(M.ROOT .. "/examples/openresty/handler.lua")))
  local env = { "env -i PATH=" .. q(os.getenv("PATH") or "/usr/sbin:/usr/bin:/sbin:/bin") }
  for k, v in pairs(o.env or {}) do env[#env + 1] = k .. "=" .. q(v) end
  local cmd = "echo $$; exec " .. table.concat(env, " ") .. " " .. M.NGINX .. " -p " .. q(dir) ..
    " -c " .. q(dir .. "/nginx.conf") .. " >" .. q(dir .. "/stdout.log") .. " 2>" .. q(dir .. "/stderr.log")
  local pipe = assert(io.popen(cmd, "r"))
  local pid = tonumber(pipe:read("*l"))
  local self = setmetatable({ dir = dir, port = port, pid = pid, pipe = pipe,
                              url = "http://127.0.0.1:" .. port }, Nginx)
  local deadline = socket.gettime() + 10
  while true do
    local c = socket.connect("127.0.0.1", port)
    if c then c:close(); break end
    if socket.gettime() > deadline then
      local log = self:log()
      self:stop()
      error("nginx did not start: " .. log, 2)
    end
    socket.sleep(0.05)
  end
  return self
end

--- error.log and stderr of nginx (diagnostics).
function Nginx:log()
  return (read(self.dir .. "/error.log") or "") .. (read(self.dir .. "/stderr.log") or "")
end

--- Stops nginx gracefully (QUIT; TERM after 5 s) and removes its prefix.
function Nginx:stop()
  if not self.pipe then return end
  local function alive()   -- a zombie (exited, not yet reaped by pipe:close) counts as gone
    local stat = read("/proc/" .. self.pid .. "/stat")
    return stat ~= nil and stat:match("^%d+ %b() (%a)") ~= "Z"
  end
  os.execute("kill -QUIT " .. self.pid .. " 2>/dev/null")
  local deadline = socket.gettime() + 5
  while alive() do
    if socket.gettime() > deadline then
      os.execute("kill -TERM " .. self.pid .. " 2>/dev/null")
      break
    end
    socket.sleep(0.05)
  end
  self.pipe:close()
  self.pipe = nil
  if os.getenv("ZLOCK_KEEP_NGINX") == nil then os.execute("rm -rf " .. q(self.dir)) end
end

--- One HTTP request to nginx (see `helpers.web.req`).
function Nginx:req(method, path, o) return web.req(self.url, method, path, o) end

--- Requests at once (see `helpers.web.parallel`).
function Nginx:parallel(reqs, timeout) return web.parallel(self.port, reqs, timeout) end

M.free_port, M.unlocked_deals, M.emu_lock = web.free_port, web.unlocked_deals, web.emu_lock

return M
