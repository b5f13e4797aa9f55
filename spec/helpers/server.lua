--- Test helper: a server under test (HAProxy, Apache, ...) started as a child process with a
-- clean environment, on a free loopback port; stopped by the PID this helper started.
--
--   local srv = require("helpers.server").start{ name = "haproxy", port = port,
--     argv = { "/usr/sbin/haproxy", "-db", "-f", cfg }, env = { ... } }
--   srv:req("GET", "/ping")  srv:parallel{ ... }  srv:log()  srv:stop()
local socket = require "socket"
local web = require "helpers.web"

local M = {}

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local Server = {}
Server.__index = Server

--- Starts the process and waits (10 s at most) until `port` accepts connections.
-- @tparam table o `name`, `argv` (array), `env` (table: the whole environment, PATH added),
--   `port`, `logs` (extra files whose text `log()` adds), `stop_signal` (default TERM)
function M.start(o)
  local out = os.tmpname()
  local words = { "env -i", "PATH=" .. q(os.getenv("PATH") or "/usr/sbin:/usr/bin:/sbin:/bin") }
  for k, v in pairs(o.env or {}) do words[#words + 1] = k .. "=" .. q(v) end
  for _, a in ipairs(o.argv) do words[#words + 1] = q(a) end
  local pipe = assert(io.popen("echo $$; exec " .. table.concat(words, " ") .. " >" .. q(out) .. " 2>&1", "r"))
  local self = setmetatable({ name = o.name, pid = tonumber(pipe:read("*l")), pipe = pipe, port = o.port,
                              out = out, logs = o.logs or {}, stop_signal = o.stop_signal or "TERM",
                              url = "http://127.0.0.1:" .. o.port }, Server)
  local deadline = socket.gettime() + 10
  while true do
    local c = socket.connect("127.0.0.1", o.port)
    if c then c:close(); break end
    if socket.gettime() > deadline then
      local text = self:log()
      self:stop()
      error(o.name .. " did not start: " .. text, 2)
    end
    socket.sleep(0.05)
  end
  return self
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("*a")
  f:close()
  return s
end

--- What the process printed, and its other logs (diagnostics).
function Server:log()
  local parts = { read(self.out) }
  for _, p in ipairs(self.logs) do parts[#parts + 1] = read(p) end
  return table.concat(parts, "\n")
end

--- Stops the process (its stop signal to the PID this helper started) and waits for it.
function Server:stop()
  if not self.pipe then return end
  os.execute("kill -" .. self.stop_signal .. " " .. self.pid .. " 2>/dev/null")
  self.pipe:close()
  self.pipe = nil
  os.remove(self.out)
end

--- One HTTP request (see `helpers.web.req`).
function Server:req(method, path, o) return web.req(self.url, method, path, o) end

--- Requests at once (see `helpers.web.parallel`).
function Server:parallel(reqs, timeout) return web.parallel(self.port, reqs, timeout) end

return M
