--- Test helper: a redis-server on a free loopback port, as a user process (no persistence),
-- stopped by its PID.
--
--   local redis = require "helpers.redis"
--   local r = redis.start{ password = "pw" }   -- r.port, r.url ("redis://:pw@127.0.0.1:PORT")
--   redis.start{ tls = { cert = CRT, key = KEY } } -- TLS only: r.url "rediss://localhost:PORT"
--   r:cli("KEYS", "*")                          -- redis-cli output
--   r:stop()
local socket = require "socket"

local M = {}

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

--- A TCP port nobody listens on right now.
M.free_port = require("helpers.web").free_port

local R = {}
R.__index = R

function M.start(opts)
  opts = opts or {}
  local port = M.free_port()
  local args = { "redis-server", "--port", opts.tls and 0 or port, "--bind", "127.0.0.1", "--save", "''",
                 "--appendonly", "no" }
  if opts.tls then   -- { cert = path, key = path }: TLS only, no client certificates
    for _, a in ipairs{ "--tls-port", port, "--tls-cert-file", q(opts.tls.cert), "--tls-key-file", q(opts.tls.key),
                        "--tls-ca-cert-file", q(opts.tls.cert), "--tls-auth-clients", "no" } do
      args[#args + 1] = a
    end
  end
  if opts.password then args[#args + 1] = "--requirepass"; args[#args + 1] = q(opts.password) end
  local log = os.tmpname()
  local pipe = assert(io.popen("echo $$; exec " .. table.concat(args, " ") .. " >" .. q(log) .. " 2>&1", "r"))
  local pid = tonumber(pipe:read("*l"))
  local self = setmetatable({ pid = pid, pipe = pipe, port = port, log = log, password = opts.password }, R)
  for _ = 1, 100 do
    local c = socket.tcp()
    c:settimeout(0.1)
    local ok = c:connect("127.0.0.1", port)
    c:close()
    if ok then
      self.url = (opts.tls and "rediss://" or "redis://") .. (opts.password and (":" .. opts.password .. "@") or "")
        .. (opts.tls and "localhost:" or "127.0.0.1:") .. port
      return self
    end
    socket.sleep(0.05)
  end
  self:stop()
  error("redis-server did not start on port " .. port)
end

--- Runs redis-cli against the server; returns its output.
function R:cli(...)
  local parts = { "redis-cli", "-p", self.port }
  if self.password then parts[#parts + 1] = "--no-auth-warning -a " .. q(self.password) end
  for _, a in ipairs{ ... } do parts[#parts + 1] = q(a) end
  local p = assert(io.popen(table.concat(parts, " ") .. " 2>&1", "r"))
  local s = p:read("*a"); p:close()
  return s
end

--- A self-signed certificate for localhost (its own CA) in dir: cert and key paths.
--- The org's fleet budget in database `db`: how many slots it has granted so far (0 before any),
-- its key (nil before any), and its holders' names (a list: empty once every slot is given back).
function R:budget(db)
  local key = self:cli("-n", db, "KEYS", "zlock:budget:*:s"):match("[^\r\n]+")
  if not key then return 0, nil, {} end
  local holders = {}
  for h in self:cli("-n", db, "HKEYS", (key:gsub(":s$", ":h"))):gmatch("[^\r\n]+") do holders[#holders + 1] = h end
  return tonumber(self:cli("-n", db, "HGET", key, "seq"):match("%d+")) or 0, key, holders
end

function M.make_cert(dir, name)
  local cert, key = dir .. "/" .. name .. ".crt", dir .. "/" .. name .. ".key"
  local ok = os.execute("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost" ..
    " -addext subjectAltName=DNS:localhost -keyout " .. q(key) .. " -out " .. q(cert) .. " >/dev/null 2>&1")
  assert(ok == true or ok == 0, "openssl could not make a certificate")
  return cert, key
end

function R:stop()
  if not self.pipe then return end
  os.execute("kill " .. self.pid .. " 2>/dev/null")
  self.pipe:close()
  self.pipe = nil
  os.remove(self.log)
end

return M
