--- Host side of the transport conformance spec: runs one zlock call described in JSON and
-- answers in JSON. Loaded inside each host under test (an HAProxy service, an nginx location,
-- a lua-http server on cqueues, or in-process), so the call goes through that host's transport.
--   request:  {"client": {zlock.new options}, "method": "lock", "args": [...], "n": 3}
--   answer:   {"result": ..., "err": {...}} or {"raised": "bad argument ..."}; "transport": name
local cjson = require "cjson.safe"
local zlock = require "zlock"

local M = {}
local clients = {}

local function unnull(t, n)
  local out = {}
  for i = 1, n do
    local v = t[i]
    if v == cjson.null then v = nil end
    out[i] = v
  end
  return out
end

--- Handles one request (JSON text); returns the answer (JSON text).
function M.handle(text)
  local req = cjson.decode(text or "")
  if type(req) ~= "table" or type(req.client) ~= "table" or type(req.method) ~= "string" then
    return cjson.encode{ raised = "bad rpc request" }
  end
  local key = cjson.encode(req.client)
  local c = clients[key]
  if not c then
    local err
    c, err = zlock.new(req.client)
    if not c then return cjson.encode{ err = err } end
    clients[key] = c
  end
  local args = unnull(req.args or {}, req.n or #(req.args or {}))
  local ok, res, err = pcall(c[req.method], c, (table.unpack or unpack)(args, 1, req.n or #args))
  local out = { transport = c._transport and c._transport.name or "curl" }
  if not ok then
    out.raised = tostring(res)
  else
    out.result = res
    if res == nil and type(err) == "table" then
      out.err = { code = err.code, message = err.message, http_status = err.http_status, retryable = err.retryable }
    end
  end
  return cjson.encode(out)
end

return M
