--- Example OpenResty / nginx handler: Zoho CRM deal locks behind a small HTTP API.
--
--   POST   /deals/{id}/lock   reason in a JSON body {"reason": "..."} or a form (reason=...)
--                             -> 201 and the lock {"id": lock id, "record_id", "reason", ...}
--   GET    /deals/{id}/lock   -> 200 the lock record (Zoho's fields), 404 NOT_LOCKED
--   PUT    /deals/{id}/lock   new reason (JSON or form) -> 200 {"id", "record_id", "reason"}
--   DELETE /deals/{id}/lock   -> 200 {"id", "record_id", "unlocked": true}, 404 NOT_LOCKED
--   GET    /locks[?module=Deals&limit=100]  admin: the module's locks as a JSON array
--   POST   /bulk/lock         admin: {"ids": [...], "reason": "...", "concurrency": 5} -> 202
--                             {"job": n}; the locks run in the background (ngx.timer.at, light
--                             threads, at most `concurrency` calls in flight)
--   GET    /bulk/{job}        admin: {"state": "running"|"done", "counts": {...}, "failures": [...]}
--
-- Errors answer with an HTTP status that fits and the zlock error as JSON:
-- `{"error": {"code", "message", "http_status", "details", "retryable"}}` (never a token).
--
-- The zlock client is built once per worker, on first use (so in a phase with cosockets: it
-- then talks through nginx's non-blocking sockets), from the environment (ZOHO_* variables,
-- which nginx passes only when `env ZOHO_...;` lines say so) with the token kept in the
-- `lua_shared_dict zlock` for every worker.
local zlock = require "zlock"
local cjson = require "cjson.safe"

local M = {}

local client

-- zlock error code -> HTTP status of this API.
local STATUS = {
  INVALID_ARGUMENT = 400, MANDATORY_NOT_FOUND = 400, LIMIT_EXCEEDED = 400, INVALID_MODULE = 400,
  REQUIRED_PARAM_MISSING = 400, NOT_LOCKED = 404, NOT_ALLOWED = 409, NO_PERMISSION = 403,
  TOO_MANY_REQUESTS = 429, CREDITS_EXHAUSTED = 429, TIMEOUT = 504, FEATURE_NOT_SUPPORTED = 501,
}

local function get_client()
  if not client then
    local c, err = zlock.new(zlock.env_options{ shared_dict = "zlock", timeout = 20 })
    if not c then return nil, err end
    client = c
  end
  return client
end

-- JSON text of a Lua array; Debian's lua-cjson 2.1.0 has no array_mt and writes {} for
-- an empty table.
local function json_array(t)
  if #t == 0 then return "[]" end
  return cjson.encode(t)
end

local function reply(status, doc)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.say(type(doc) == "string" and doc or cjson.encode(doc))
  return ngx.exit(status)
end

local function fail(err, status)
  local e = type(err) == "table" and err or { code = "INTERNAL", message = tostring(err) }
  if not status then
    status = STATUS[e.code]
    if e.code == "INVALID_DATA" then
      -- rpi 1: unknown record id, rpi 3: unknown lock id -> not found; else a bad value
      local rpi = type(e.details) == "table" and tonumber(e.details.resource_path_index)
      status = (rpi == 1 or rpi == 3) and 404 or 400
    end
    status = status or 502   -- token, transport, Zoho 5xx: the upstream failed us
  end
  return reply(status, { error = { code = e.code, message = e.message, http_status = e.http_status,
                                   details = e.details, retryable = e.retryable } })
end

local function bad_request(msg)
  return fail({ code = "INVALID_ARGUMENT", message = msg, retryable = false }, 400)
end

-- The reason from a JSON body {"reason": ...} or a form body reason=...
local function read_reason()
  ngx.req.read_body()
  local ctype = (ngx.var.content_type or ""):lower()
  if ctype:find("json", 1, true) then
    local doc = cjson.decode(ngx.req.get_body_data() or "")
    if type(doc) ~= "table" then return nil, "body is not a JSON object" end
    return doc.reason
  end
  local args = ngx.req.get_post_args()
  return args and args.reason
end

-- Runs a client method; a raised "bad argument" becomes a 400.
local function call(method, ...)
  local c, err = get_client()
  if not c then return nil, err end
  local ok, res, e2 = pcall(c[method], c, ...)
  if not ok then
    return nil, { code = "INVALID_ARGUMENT", message = tostring(res):gsub("^.-: ", "", 1), retryable = false }
  end
  return res, e2
end

local function lock_deal(id)
  local reason, rerr = read_reason()
  if rerr then return bad_request(rerr) end
  if type(reason) ~= "string" or reason == "" then return bad_request("reason is required") end
  local lock, err = call("lock", "Deals", id, reason)
  if not lock then return fail(err) end
  return reply(201, { id = lock.id, record_id = id, module = "Deals", reason = reason,
                      reconciled = lock.reconciled or nil, details = lock.details })
end

local function get_lock(id)
  local locked, lock = call("locked", "Deals", id)
  if locked == nil then return fail(lock) end
  if not locked then return fail({ code = "NOT_LOCKED", message = "deal " .. id .. " is not locked" }, 404) end
  return reply(200, lock)
end

local function update_lock(id)
  local reason, rerr = read_reason()
  if rerr then return bad_request(rerr) end
  if type(reason) ~= "string" or reason == "" then return bad_request("reason is required") end
  local locked, lock = call("locked", "Deals", id)
  if locked == nil then return fail(lock) end
  if not locked then return fail({ code = "NOT_LOCKED", message = "deal " .. id .. " is not locked" }, 404) end
  local res, err = call("update", "Deals", id, lock.id, reason)
  if not res then return fail(err) end
  return reply(200, { id = lock.id, record_id = id, module = "Deals", reason = reason })
end

local function unlock_deal(id)
  local res, err = call("unlock", "Deals", id)   -- no lock id: finds the manual lock (two calls)
  if not res then return fail(err) end
  return reply(200, { id = res.id, record_id = id, module = "Deals", unlocked = true })
end

local function list_locks()
  local args = ngx.req.get_uri_args()
  local module = args.module or "Deals"
  if type(module) ~= "string" or not module:match("^[A-Za-z][A-Za-z0-9_]*$") then
    return bad_request("module must be a module API name")
  end
  local limit = tonumber(args.limit) or 100
  local c, cerr = get_client()
  if not c then return fail(cerr) end
  local out = {}
  local ok, err = pcall(function()
    for lock in require("zlock.select").locks(c, module) do
      out[#out + 1] = lock
      if #out >= limit then break end
    end
  end)
  if not ok then return fail(err) end
  return reply(200, json_array(out))
end

-- Background bulk lock: a timer (its own cosocket context, outliving the request) runs the
-- bulk runner on light threads; the summary goes to the shared dict.
local function bulk_job(premature, job, ids, reason, concurrency)
  if premature then return end
  local dict = ngx.shared.zlock
  local c, err = get_client()
  local doc
  if not c then
    doc = { state = "done", error = { code = err.code, message = err.message } }
  else
    -- inside nginx, c:bulk picks the light-thread engine (zlock.ngx.engine) by itself
    local run = assert(c:bulk{ concurrency = concurrency })
    for _, id in ipairs(ids) do run:lock("Deals", id, reason) end
    local sum = run:finish()
    local failures = {}
    for i, f in ipairs(sum.failures) do
      failures[i] = { record_id = f.record_id, code = f.code, message = f.message }
    end
    doc = { state = "done", counts = sum.counts, failed = sum.failed, done = sum.done,
            elapsed = sum.elapsed, engine = sum.engine }
    doc = cjson.encode(doc):gsub("^{", '{"failures":' .. json_array(failures):gsub("%%", "%%%%") .. ",", 1)
  end
  dict:set("job:" .. job, type(doc) == "string" and doc or cjson.encode(doc), 3600)
end

local function bulk_lock()
  ngx.req.read_body()
  local doc = cjson.decode(ngx.req.get_body_data() or "")
  if type(doc) ~= "table" or type(doc.ids) ~= "table" or #doc.ids == 0 then
    return bad_request('JSON body {"ids": [deal ids], "reason": "..."} expected')
  end
  if type(doc.reason) ~= "string" or doc.reason == "" then return bad_request("reason is required") end
  local ids = {}
  for i, id in ipairs(doc.ids) do
    if type(id) ~= "string" or not id:match("^%d+$") or #id > 19 then
      return bad_request("ids must be strings of 1 to 19 digits")
    end
    ids[i] = id
  end
  local concurrency = math.floor(tonumber(doc.concurrency) or 5)
  if concurrency < 1 or concurrency > 25 then return bad_request("concurrency must be 1 to 25") end
  local dict = ngx.shared.zlock
  local job = dict:incr("job_seq", 1, 0)
  dict:set("job:" .. job, cjson.encode({ state = "running", total = #ids }), 3600)
  local ok, err = ngx.timer.at(0, bulk_job, job, ids, doc.reason, concurrency)
  if not ok then return fail({ code = "INTERNAL", message = "cannot start the job: " .. tostring(err) }, 503) end
  return reply(202, { job = job, total = #ids })
end

local function bulk_status(job)
  local v = ngx.shared.zlock:get("job:" .. job)
  if not v then return fail({ code = "NOT_FOUND", message = "no job " .. job }, 404) end
  ngx.header["Content-Type"] = "application/json"
  ngx.say(v)
  return ngx.exit(200)
end

--- The zlock client of this worker (built on first use), or nil and the error.
M.client = get_client

--- Serves one request (call it from `content_by_lua_block`).
function M.serve()
  local method, uri = ngx.req.get_method(), ngx.var.uri
  local id = uri:match("^/deals/(%d+)/lock/?$")
  if id then
    if #id > 19 then return bad_request("deal id must be 1 to 19 digits") end
    if method == "POST" then return lock_deal(id) end
    if method == "GET" then return get_lock(id) end
    if method == "PUT" then return update_lock(id) end
    if method == "DELETE" then return unlock_deal(id) end
    ngx.header["Allow"] = "GET, POST, PUT, DELETE"
    return fail({ code = "METHOD_NOT_ALLOWED", message = method .. " is not allowed here" }, 405)
  end
  if uri == "/locks" or uri == "/locks/" then
    if method ~= "GET" then
      ngx.header["Allow"] = "GET"
      return fail({ code = "METHOD_NOT_ALLOWED", message = method .. " is not allowed here" }, 405)
    end
    return list_locks()
  end
  if uri == "/bulk/lock" and method == "POST" then return bulk_lock() end
  local job = uri:match("^/bulk/(%d+)$")
  if job and method == "GET" then return bulk_status(job) end
  return fail({ code = "NOT_FOUND", message = "no such endpoint" }, 404)
end

return M
