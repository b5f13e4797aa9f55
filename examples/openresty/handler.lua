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
local webhook = require "zlock.webhook"
local cjson = require "cjson.safe"

local M = {}

local get_client = webhook.lazy_client{ shared_dict = "zlock", timeout = 20 }

local json_array = webhook.json_array

local function reply(status, body, headers)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  for k, v in pairs(headers or {}) do ngx.header[k] = v end
  ngx.say(body)
  return ngx.exit(status)
end

local function fail(code, message, status)
  return reply(status, cjson.encode({ error = { code = code, message = message, retryable = false } }))
end

local function bad_request(msg) return fail("INVALID_ARGUMENT", msg, 400) end

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
  if not ok then return fail("INTERNAL", "cannot start the job: " .. tostring(err), 503) end
  return reply(202, cjson.encode{ job = job, total = #ids })
end

local function bulk_status(job)
  local v = ngx.shared.zlock:get("job:" .. job)
  if not v then return fail("NOT_FOUND", "no job " .. job, 404) end
  ngx.header["Content-Type"] = "application/json"
  ngx.say(v)
  return ngx.exit(200)
end

--- The zlock client of this worker (built on first use), or nil and the error.
M.client = get_client

--- Serves one request (call it from `content_by_lua_block`): the bulk endpoints here, the
-- rest through `zlock.webhook`.
function M.serve()
  local method, uri = ngx.req.get_method(), ngx.var.uri
  if uri == "/bulk/lock" and method == "POST" then return bulk_lock() end
  local job = uri:match("^/bulk/(%d+)$")
  if job and method == "GET" then return bulk_status(job) end
  ngx.req.read_body()
  return reply(webhook.handle(get_client, {
    method = method, path = uri, query = ngx.req.get_uri_args(),
    content_type = ngx.var.content_type, body = ngx.req.get_body_data(),
  }))
end

return M
