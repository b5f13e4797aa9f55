--- Test helper: starts a zlock-emu process on a free loopback port and talks HTTP to it.
-- Used by every spec that needs a Zoho-shaped server (the LuaRocks way: a separate
-- process started in lazy_setup, stopped in lazy_teardown).
--
--   local emu = require "helpers.emu"
--   local e = emu.start{ "--seed", "demo", "--latency", "10" }
--   local res = e:req("GET", "/crm/v8/Deals/123/Locking_Information__s?fields=Locked_For__s")
--   -- res.status, res.body (raw bytes), res.json (decoded or nil), res.headers
--   e:stop()
local http = require "socket.http"
local ltn12 = require "ltn12"
local cjson = require "cjson.safe"

local M = {}

M.BIN = os.getenv("ZLOCK_EMU") or "build/zlock-emu"
-- The demo org's fixed credentials (also in `zlock-emu --help` and the README).
M.ACCESS_TOKEN = "1000.zlockemu.demo-access-token"
M.CLIENT_ID = "1000.ZLOCKEMUDEMOCLIENT"
M.CLIENT_SECRET = "zlock-emu-demo-client-secret"
M.REFRESH_TOKEN = "1000.zlockemu.demo-refresh-token"

local Emu = {}
Emu.__index = Emu

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- Starts the emulator. `args` is a list of extra command-line arguments.
-- Returns the emulator object; raises when it does not come up.
function M.start(args)
  args = args or {}
  local log = os.tmpname()
  local parts = { "echo $$; exec", shell_quote(M.BIN), "--listen", "127.0.0.1:0" }
  for _, a in ipairs(args) do parts[#parts + 1] = shell_quote(a) end
  parts[#parts + 1] = "2>" .. shell_quote(log)
  local pipe = assert(io.popen(table.concat(parts, " "), "r"))
  local pid = pipe:read("*l")
  local line = pipe:read("*l")
  local url = line and line:match("^zlock%-emu listening on (http://127%.0%.0%.1:%d+)$")
  if not url then
    pipe:close()
    local f = io.open(log); local msg = f and f:read("*a") or ""; if f then f:close() end
    os.remove(log)
    error("zlock-emu did not start (first line: " .. tostring(line) .. "): " .. msg, 2)
  end
  return setmetatable({ pid = tonumber(pid), pipe = pipe, url = url, log = log,
                        token = M.ACCESS_TOKEN }, Emu)
end

--- Stops the emulator with SIGTERM (or `sig`) and waits for it. Returns the exit result.
function Emu:stop(sig)
  if not self.pipe then return end
  os.execute("kill -" .. (sig or "TERM") .. " " .. self.pid .. " 2>/dev/null")
  local ok, how, code = self.pipe:close()
  self.pipe = nil
  os.remove(self.log)
  return ok, how, code
end

--- Contents of the emulator's stderr so far (for diagnostics).
function Emu:stderr()
  local f = io.open(self.log); if not f then return "" end
  local s = f:read("*a"); f:close(); return s
end

--- One HTTP request. `opts.body` is a string or a table (JSON-encoded);
-- `opts.token` overrides the access token (false: no Authorization header);
-- `opts.headers` adds headers. Returns a response table, or nil and the
-- transport error (e.g. "closed" when the emulator dropped the connection).
function Emu:req(method, path, opts)
  opts = opts or {}
  local headers = {}
  local token = opts.token
  if token == nil then token = self.token end
  if token then headers["authorization"] = "Zoho-oauthtoken " .. token end
  local body = opts.body
  if type(body) == "table" then body = assert(cjson.encode(body)) end
  if body then
    headers["content-type"] = opts.content_type or "application/json"
    headers["content-length"] = tostring(#body)
  end
  for k, v in pairs(opts.headers or {}) do headers[k:lower()] = v end
  local chunks = {}
  local ok, status, rh = http.request{
    url = self.url .. path, method = method, headers = headers,
    source = body and ltn12.source.string(body) or nil,
    sink = ltn12.sink.table(chunks),
  }
  if not ok then return nil, status end
  local raw = table.concat(chunks)
  return { status = status, body = raw, json = (raw ~= "" and cjson.decode(raw)) or nil, headers = rh }
end

local function admin(self, method, path, body)
  local res, err = self:req(method, path, { body = body, token = false })
  assert(res, "emulator admin call failed: " .. tostring(err))
  assert(res.status == 200, "emulator admin call " .. path .. " answered " .. res.status .. ": " .. res.body)
  return res.json
end

--- GET /__emu/state: every lock and every record's Locked__s.
function Emu:state() return admin(self, "GET", "/__emu/state") end
--- GET /__emu/stats: requests by route and status, peak in flight, 429s, tokens minted.
function Emu:stats() return admin(self, "GET", "/__emu/stats") end
--- POST /__emu/reset: back to the seeded org.
function Emu:reset() return admin(self, "POST", "/__emu/reset", "{}") end
--- POST /__emu/faults: change fault and limit settings at run time.
function Emu:faults(t) return admin(self, "POST", "/__emu/faults", t) end

--- Sends one CRM GET (a lock list of `record_id`) on a connection of its own and never reads
-- the reply: with a long `latency_ms` set first, it holds one of the emulator's concurrency
-- places until the emulator answers. Returns the socket (close it when done).
function Emu:hold(record_id)
  local socket = require "socket"
  local host, port = self.url:match("^http://([^:/]+):(%d+)")
  local sock = assert(socket.tcp())
  assert(sock:connect(host, tonumber(port)))
  assert(sock:send(("GET /crm/v8/Deals/%s/Locking_Information__s?fields=Locked_Reason__s HTTP/1.1\r\n" ..
    "Host: %s\r\nAuthorization: Zoho-oauthtoken %s\r\n\r\n"):format(record_id, host, M.ACCESS_TOKEN)))
  return sock
end

--- Waits (10 s at most, else raises) until the emulator has `n` CRM requests in flight;
-- `tick(seconds)` runs between two looks (e.g. an engine's poll), else a short sleep.
function Emu:wait_in_flight(n, tick)
  local socket = require "socket"
  local deadline = socket.gettime() + 10
  while self:stats().in_flight < n do
    assert(socket.gettime() < deadline, "the emulator never had " .. n .. " requests in flight")
    if tick then tick(0.01) else socket.sleep(0.01) end
  end
end

return M
