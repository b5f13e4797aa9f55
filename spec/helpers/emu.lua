--- Test helper: starts a zlock-emu process on a free loopback port and talks HTTP to it.
-- Used by every spec that needs a Zoho-shaped server (the LuaRocks way: a separate
-- process started in lazy_setup, stopped in lazy_teardown).
--
--   local emu = require "helpers.emu"
--   local e = emu.start{ "--seed", "demo", "--latency", "10" }
--   local res = e:req("GET", "/crm/v8/Deals/123/Locking_Information__s?fields=Locked_For__s")
--   -- res.status, res.body (raw bytes), res.json (decoded or nil), res.headers
--   e:stop()
-- The process and the admin calls (`state`, `stats`, `reset`, `faults`) are zlock.testing's;
-- this helper adds raw HTTP (`req`) and the concurrency probes the specs use.
local emulator = require "zlock.testing.emulator"
local http = require "socket.http"
local ltn12 = require "ltn12"
local cjson = require "cjson.safe"

local M = {}

M.BIN = "build/zlock-emu"
-- The demo org's fixed credentials (also in `zlock-emu --help` and the README).
M.ACCESS_TOKEN = "1000.zlockemu.demo-access-token"
M.CLIENT_ID = "1000.ZLOCKEMUDEMOCLIENT"
M.CLIENT_SECRET = "zlock-emu-demo-client-secret"
M.REFRESH_TOKEN = "1000.zlockemu.demo-refresh-token"

local Emu = {}

--- Starts the emulator (`zlock.testing.emulator`: it is also stopped by garbage collection and
-- when this process ends). `args` is a list of extra command-line arguments.
-- Returns the emulator object with this helper's methods too; raises when it does not come up.
function M.start(args)
  local e = emulator.start{ args = args, bin = os.getenv("ZLOCK_EMU") or M.BIN }
  e.token = M.ACCESS_TOKEN
  for k, f in pairs(Emu) do e[k] = f end
  return e
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

--- The environment of a client on this emulator's refresh flow (`ZOHO_*`: API and accounts
-- domain, client id and secret, refresh token), with `extra`'s variables added.
function Emu:refresh_env(extra)
  local env = { ZOHO_API_DOMAIN = self.url, ZOHO_ACCOUNTS_DOMAIN = self.url, ZOHO_CLIENT_ID = M.CLIENT_ID,
                ZOHO_CLIENT_SECRET = M.CLIENT_SECRET, ZOHO_REFRESH_TOKEN = M.REFRESH_TOKEN }
  for k, v in pairs(extra or {}) do env[k] = v end
  return env
end

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
