--- A small Redis client over whatever sockets the host has (nginx cosockets, HAProxy's
-- `core.tcp`, ...): the RESP codec (commands as arrays of bulk strings; replies `+`, `-`, `:`,
-- `$`, `*`) and the command flow, with the host's socket factory.
--
--     local c = redis_client.new(core.redis_url(url), {
--       connect = function(u) ... return sock, reused end,   -- or nil, message
--       done = function(sock) sock:close() end,              -- after a command that went well
--     })
--     c:cmd("SET", "k", "v", "PX", 1000)   --> "OK", or nil and a message
--
-- A socket needs `send(data)`, `receive("*l")`, `receive(n)` and `close()`. On a new connection
-- (`reused` false) `AUTH` (with the URL's user and password) and `SELECT` (its database) go
-- first, in the same write. Messages name the server as `host:port` and never hold the URL's
-- password: a refused `AUTH` or `SELECT` reads "refused the URL's credentials or database".
-- @module zlock.redis_client
local M = {}

--- A nil bulk or array reply (`$-1`, `*-1`).
M.null = setmetatable({}, { __tostring = function() return "redis null" end })

--- One command as RESP bytes.
-- @tparam table args the command and its arguments (strings or numbers)
-- @treturn string
function M.encode(args)
  local out = { "*", #args, "\r\n" }
  for _, a in ipairs(args) do
    a = tostring(a)
    out[#out + 1] = "$" .. #a .. "\r\n" .. a .. "\r\n"
  end
  return table.concat(out)
end

--- Reads one reply from `sock`.
-- @return the value (string, integer, array table, or `M.null`), or nil and a message: a Redis
--   error reply is `"redis: <its text>"`, a socket failure the socket's own message
function M.read_reply(sock)
  local line, err = sock:receive("*l")
  if not line then return nil, err end
  local t, rest = line:sub(1, 1), line:sub(2)
  if t == "+" then return rest
  elseif t == "-" then return nil, "redis: " .. rest
  elseif t == ":" then return tonumber(rest)
  elseif t == "$" then
    local n = tonumber(rest)
    if not n or n < 0 then return M.null end
    local data, e = sock:receive(n + 2)
    if not data then return nil, e end
    return data:sub(1, n)
  elseif t == "*" then
    local n = tonumber(rest)
    if not n or n < 0 then return M.null end
    local arr = {}
    for i = 1, n do
      local v, e = M.read_reply(sock)
      if v == nil then return nil, e end
      arr[i] = v
    end
    return arr
  end
  return nil, "bad reply"
end

--- `host:port` of a parsed URL (how messages name the server).
-- @tparam table u a parsed redis_url (`core.redis_url`)
-- @treturn string
function M.where(u)
  return u.host .. ":" .. u.port
end

local C = {}
C.__index = C

--- A client.
-- @tparam table u a parsed redis_url (`core.redis_url`: `host`, `port`, `db`, `user`, `password`)
-- @tparam table io `connect(u)` -> `sock, reused` (true: a pooled connection, already set
--   up), or nil and a message (naming `M.where(u)`, never the password); `done(sock)`: after
--   a command that went well (keep it in a pool, or close it)
-- @return the client
function M.new(u, io)
  return setmetatable({ u = u, io = io, where = M.where(u) }, C)
end

-- The commands a new connection needs first (AUTH, SELECT).
local function setup(u)
  local s = {}
  if u.password then s[#s + 1] = M.encode(u.user and { "AUTH", u.user, u.password } or { "AUTH", u.password }) end
  if u.db ~= 0 then s[#s + 1] = M.encode{ "SELECT", u.db } end
  return s
end

--- Sends one command and reads its reply.
-- @param ... the command and its arguments
-- @return the reply's value, or nil and a message (`host:port answered redis: ...` for an
--   error reply; `host:port: <socket error>` when the exchange failed)
function C:cmd(...)
  local sock, reused = self.io.connect(self.u)
  if not sock then return nil, reused end
  local req = reused and {} or setup(self.u)
  local n_setup = #req
  req[#req + 1] = M.encode{ ... }
  local _, serr = sock:send(table.concat(req))
  if serr then sock:close(); return nil, self.where .. ": " .. tostring(serr) end
  for _ = 1, n_setup do
    local v, e = M.read_reply(sock)
    if v == nil then
      sock:close()
      local why = e and e:find("^redis:") and " refused the URL's credentials or database" or (": " .. tostring(e))
      return nil, self.where .. why
    end
  end
  local v, e = M.read_reply(sock)
  if v == nil and not (e and e:find("^redis:")) then sock:close(); return nil, self.where .. ": " .. tostring(e) end
  self.io.done(sock)
  if v == nil then return nil, self.where .. " answered " .. e end
  return v
end

return M
