--- A small HTTP API over record locks, for any Lua host (nginx, HAProxy, Apache, a coroutine
-- server): the host reads the request, `webhook.handle` does the work with a zlock client,
-- the host writes the reply. The examples under `examples/` (openresty, haproxy, apache) are
-- thin adapters around it.
--
--     POST   /deals/{id}/lock   reason as JSON {"reason": "..."} or a form (reason=...)
--                               -> 201 {"id": lock id, "module", "record_id", "reason", ...}
--     GET    /deals/{id}/lock   -> 200 the lock record (Zoho's fields), 404 NOT_LOCKED
--     PUT    /deals/{id}/lock   new reason -> 200 {"id", "module", "record_id", "reason"}
--     DELETE /deals/{id}/lock   -> 200 {"id", "module", "record_id", "unlocked": true}, 404 NOT_LOCKED
--     GET    /locks[?module=Deals&limit=100]  the module's locks as a JSON array (admin)
--
-- Errors answer `{"error": {"code", "message", "http_status", "details", "retryable"}}` (zlock's
-- error, never a token) with a status from `webhook.status(err)`.
-- @module zlock.webhook
local cjson = require "cjson.safe"

local M = {}

--- zlock error code -> HTTP status of this API (codes not listed: 502, the upstream failed).
M.STATUS = {
  INVALID_ARGUMENT = 400, MANDATORY_NOT_FOUND = 400, LIMIT_EXCEEDED = 400, INVALID_MODULE = 400,
  REQUIRED_PARAM_MISSING = 400, NOT_LOCKED = 404, NOT_FOUND = 404, NOT_ALLOWED = 409,
  NO_PERMISSION = 403, TOO_MANY_REQUESTS = 429, CREDITS_EXHAUSTED = 429, TIMEOUT = 504,
  FEATURE_NOT_SUPPORTED = 501, METHOD_NOT_ALLOWED = 405,
}

--- The HTTP status that answers a zlock error.
-- @tparam table err a zlock error (`code`, `details`)
-- @treturn integer
function M.status(err)
  if err.code == "INVALID_DATA" then
    -- resource_path_index 1: unknown record id, 3: unknown lock id -> not found; else a bad value
    local rpi = type(err.details) == "table" and tonumber(err.details.resource_path_index)
    return (rpi == 1 or rpi == 3) and 404 or 400
  end
  return M.STATUS[err.code] or 502
end

--- A client built on first use from the `ZOHO_*` environment overlaid with `opts`, then kept
-- (one per Lua state): pass the function to `webhook.handle`, which calls it when needed.
-- @tparam[opt] table opts options for `zlock.new` (e.g. `{ shared_dict = "zlock", timeout = 20 }`)
-- @treturn function returning the client, or nil and the error
function M.lazy_client(opts)
  local client
  return function()
    if not client then
      local zlock = require "zlock"
      local c, err = zlock.new(zlock.env_options(opts))
      if not c then return nil, err end
      client = c
    end
    return client
  end
end

--- JSON text of a Lua array (`[]` when empty: lua-cjson 2.1.0 writes `{}` for an empty table).
-- @tparam table t
-- @treturn string
function M.json_array(t)
  if #t == 0 then return "[]" end
  return cjson.encode(t)
end

local function reply(status, doc, headers)
  return status, type(doc) == "string" and doc or cjson.encode(doc), headers
end

local function fail(err, status, headers)
  local e = type(err) == "table" and err or { code = "INTERNAL", message = tostring(err) }
  return reply(status or M.status(e), { error = { code = e.code, message = e.message,
    http_status = e.http_status, details = e.details, retryable = e.retryable or false } }, headers)
end

local function bad_request(msg)
  return fail({ code = "INVALID_ARGUMENT", message = msg }, 400)
end

local function not_allowed(method, allow)
  return fail({ code = "METHOD_NOT_ALLOWED", message = method .. " is not allowed here" }, 405,
              { Allow = allow })
end

local function unescape(s)
  s = s:gsub("+", " ")
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

--- Decodes `a=1&b=x%20y` (a form body or a query string) into a table.
-- @tparam string s
-- @treturn table
function M.form(s)
  local t = {}
  for pair in (s or ""):gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    if k and k ~= "" then t[unescape(k)] = unescape(v) end
  end
  return t
end

-- The reason from a JSON body {"reason": ...} or a form body reason=...
local function read_reason(req)
  local reason
  if (req.content_type or ""):lower():find("json", 1, true) then
    local doc = cjson.decode(req.body or "")
    if type(doc) ~= "table" then return nil, "body is not a JSON object" end
    reason = doc.reason
  else
    reason = M.form(req.body).reason
  end
  if type(reason) ~= "string" or reason == "" then return nil, "reason is required" end
  return reason
end

-- Runs a client method; a raised "bad argument" (a malformed id or reason) becomes a 400.
local function call(c, method, ...)
  local ok, res, e2 = pcall(c[method], c, ...)
  if not ok then
    return nil, { code = "INVALID_ARGUMENT", message = (tostring(res):gsub("^.-: ", "", 1)) }
  end
  return res, e2
end

local function not_locked(id)
  return fail({ code = "NOT_LOCKED", message = "deal " .. id .. " is not locked" }, 404)
end

local DEAL = {}

function DEAL.POST(c, req, id)
  local reason, rerr = read_reason(req)
  if not reason then return bad_request(rerr) end
  local lock, err = call(c, "lock", "Deals", id, reason)
  if not lock then return fail(err) end
  return reply(201, { id = lock.id, module = "Deals", record_id = id, reason = reason,
                      reconciled = lock.reconciled or nil, details = lock.details })
end

function DEAL.GET(c, _, id)
  local locked, lock = call(c, "locked", "Deals", id)
  if locked == nil then return fail(lock) end
  if not locked then return not_locked(id) end
  return reply(200, lock)
end

function DEAL.PUT(c, req, id)
  local reason, rerr = read_reason(req)
  if not reason then return bad_request(rerr) end
  local locked, lock = call(c, "locked", "Deals", id)
  if locked == nil then return fail(lock) end
  if not locked then return not_locked(id) end
  local res, err = call(c, "update", "Deals", id, lock.id, reason)
  if not res then return fail(err) end
  return reply(200, { id = lock.id, module = "Deals", record_id = id, reason = reason })
end

function DEAL.DELETE(c, _, id)
  local res, err = call(c, "unlock", "Deals", id)   -- no lock id: the record's manual lock
  if not res then return fail(err) end
  return reply(200, { id = res.id, module = "Deals", record_id = id, unlocked = true })
end

local function list_locks(c, req)
  local q = type(req.query) == "table" and req.query or M.form(req.query)
  local module = q.module or "Deals"
  if type(module) ~= "string" or not module:match("^[A-Za-z][A-Za-z0-9_]*$") then
    return bad_request("module must be a module API name")
  end
  local limit = tonumber(q.limit) or 100
  local out = {}
  local ok, err = pcall(function()
    for lock in c:locks(module) do
      out[#out + 1] = lock
      if #out >= limit then break end
    end
  end)
  if not ok then return fail(err) end
  return reply(200, M.json_array(out))
end

--- Serves one request.
-- @param c a zlock client (or a function returning one, or nil and an error, built on first use)
-- @tparam table req `method`, `path` (without the query), `query` (string or table),
--   `content_type`, `body` (string)
-- @treturn integer HTTP status
-- @treturn string the JSON body
-- @treturn[opt] table extra reply headers (e.g. `Allow`)
function M.handle(c, req)
  local method, path = req.method, req.path
  local id = path:match("^/deals/(%d+)/lock/?$")
  if not id and path ~= "/locks" and path ~= "/locks/" then
    return fail({ code = "NOT_FOUND", message = "no such endpoint" }, 404)
  end
  if id and not DEAL[method] then return not_allowed(method, "GET, POST, PUT, DELETE") end
  if not id and method ~= "GET" then return not_allowed(method, "GET") end
  if id and #id > 19 then return bad_request("deal id must be 1 to 19 digits") end
  if type(c) == "function" then
    local err
    c, err = c()
    if not c then return fail(err) end
  end
  if id then return DEAL[method](c, req, id) end
  return list_locks(c, req)
end

return M
