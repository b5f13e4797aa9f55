--- A zlock client: the four record-locking operations as Lua tables.
-- Created by `zlock.new{...}`; see `zlock` for the options. Every method returns its
-- result, or `nil, err` on a runtime failure (`zlock.error`), and raises
-- `bad argument #n to 'name' (...)` on a programmer mistake before any request is sent.
-- Ids are strings of 1 to 19 digits everywhere (never numbers); JSON null is `zlock.null`.
-- @classmod zlock.client
local core = require "zlock.core"
local json = require("cjson.safe").new()   -- encodes request bodies
local errors = require "zlock.error"
-- Reply bodies are decoded by the core's own decoder: the same values as lua-cjson
-- (null is cjson.null), with fewer instructions (about 18k vs 30k for a lock reply, callgrind).
local decode = core.decode

local Client = {}
Client.__index = Client

-- Argument checks. Every public method (and zlock.get/lock/... on the default client)
-- calls ARGS[name](...) first thing, so the error is raised at the same depth from the
-- user's call: level 5 = argerr <- check_x <- ARGS.x <- method <- caller.
local function argerr(n, fname, msg, level)
  error(string.format("bad argument #%d to '%s' (%s)", n, fname, msg), level or 5)
end

local function check_module(v, n, fname)
  if type(v) ~= "string" then argerr(n, fname, "module name expected, got " .. type(v)) end
  local why = core.check_module(v)
  if why then argerr(n, fname, "module name " .. why) end
end

local function check_id(v, n, fname, what)
  if type(v) ~= "string" then argerr(n, fname, what .. " expected as a string of digits, got " .. type(v)) end
  local why = core.check_id(v)
  if why then argerr(n, fname, what .. " " .. why) end
end

local function check_reason(v, n, fname)
  if type(v) ~= "string" then argerr(n, fname, "reason expected as a string, got " .. type(v)) end
  local why = core.check_reason(v)
  if why then argerr(n, fname, "reason " .. why) end
end

local function tostr_param(v)
  if type(v) == "table" then
    local t = {}
    for i, x in ipairs(v) do t[i] = tostring(x) end
    return table.concat(t, ",")
  end
  return tostring(v)
end

-- Runs the on_retry hook (if any) before a backoff; false when it stopped the retries.
local function retry_hook(self, call, info, attempt, ms, err)
  local hook = self._on_retry
  if not hook then return true end
  info.attempt, info.delay, info.error = attempt, ms / 1000, errors.new(err)
  if hook(info) == false then
    call:cancel("CANCELLED", "on_retry hook stopped the retries")
    return false
  end
  return true
end

-- libcurl in C: call:run() returns here only between attempts (so the hook runs in plain Lua).
local function drive_curl(self, call, info, w)
  while true do
    if not w then w = call:run() end
    if not w then return end
    if retry_hook(self, call, info, w.attempt, w.ms, w.error) then core.sleep(w.ms) end
    w = nil
  end
end

-- A Lua transport performs each step the core asks for.
local function drive_transport(self, call, info)
  local transport = self._transport
  if transport.prepare then transport:prepare(self._core) end
  if transport.resends then call:transport_resends() end   -- its HTTP client may re-send on its own
  while true do
    local s = call:next()
    local kind = s.kind
    if kind == "done" then return
    elseif kind == "send" then
      if s.token_request and transport.send_token then
        transport:send_token(call, s, self._core)   -- feeds the call itself (feed or feed_token)
      else
        call:feed(transport:send(s))
      end
    elseif kind == "wait" then
      retry_hook(self, call, info, s.attempt, s.ms, s.error)
      if transport.sleep then transport:sleep(s.ms) else core.sleep(s.ms) end
    elseif kind == "wait_token" then
      if transport.wait_token then transport:wait_token(s) else core.sleep(5) end
    end
  end
end

-- Runs one core call to its end with the client's transport; returns the core result
-- table ({status, body, lock_id, reconciled, attempts}) or nil, err.
local function drive(self, call, info, w)
  if self._transport then drive_transport(self, call, info) else drive_curl(self, call, info, w) end
  local res, err = call:result()
  call:close()
  if not res then return nil, errors.new(err) end
  return res
end

local function run(self, fname, kind, module, record_id, lock_id, reason, params)
  if not self._transport then
    -- fast path: one C crossing unless a backoff interrupts it
    local res, call, w = self._core:run(kind, module, record_id, lock_id, reason, params)
    if res then return res end
    if res == nil then return nil, errors.new(call) end
    return drive(self, call, { operation = fname, module = module, record_id = record_id }, w)
  end
  local call, err = self._core:call(kind, module, record_id, lock_id, reason, params)
  if not call then return nil, errors.new(err) end
  return drive(self, call, { operation = fname, module = module, record_id = record_id })
end

local function bad_response(msg, status)
  return nil, errors.new{ code = "BAD_RESPONSE", message = msg, http_status = status }
end

-- First item of {"data":[...]} as a table.
local function first_item(res)
  local doc = decode(res.body)
  local item = type(doc) == "table" and type(doc.data) == "table" and doc.data[1]
  if type(item) ~= "table" then return nil end
  return item, doc
end

-- {"data":[{code, details, message, status}]} -> lock table with .id
local function action_result(res)
  if res.reconciled and not res.body:find("^%s*{") then
    return { id = res.lock_id, details = { id = res.lock_id }, reconciled = true }
  end
  local item, doc = first_item(res)
  if not item then return bad_response("reply has no data item", res.status) end
  if res.reconciled then
    -- a lock found by a GET after an ambiguous failure: the list reply
    for _, l in ipairs(doc.data) do
      if l.id == res.lock_id then
        return { id = res.lock_id, details = { id = res.lock_id }, record = l, reconciled = true,
                 code = "SUCCESS", status = "success" }
      end
    end
    return { id = res.lock_id, details = { id = res.lock_id }, reconciled = true }
  end
  item.id = res.lock_id or (type(item.details) == "table" and item.details.id) or nil
  return item
end

local NAME_PAT = "^[A-Za-z][A-Za-z0-9_]*$"

local function posint(v)
  if type(v) == "number" then return v >= 1 and v == math.floor(v) and v < 2^53 and string.format("%d", v) end
  if type(v) == "string" then return v:match("^[1-9]%d*$") and #v <= 15 and v end
  return nil
end

-- Checks and converts list options to string parameters (raises on mistakes).
-- list reply -> locks array, info
local function list_result(res)
  if res.status == 204 or res.body == "" then
    return {}, { count = 0, more_records = false }
  end
  local doc = decode(res.body)
  if type(doc) ~= "table" or type(doc.data) ~= "table" then
    return bad_response("list reply has no data array", res.status)
  end
  return doc.data, doc.info or { count = #doc.data, more_records = false }
end

--- Turns a core result table (`{status, body, lock_id, reconciled, attempts}`, as
-- `call:result()` gives) into what the public method returns, so every driver (blocking,
-- bulk engine, nginx) gives the same tables.
-- @tparam string kind `"get_one"`, `"list"`, `"lock"`, `"update"` or `"unlock"`
-- @tparam table res the core result
-- @return the method's results, or `nil, err`
function Client._convert(kind, res)
  if kind == "get_one" then
    local item = first_item(res)
    if not item then return bad_response("reply has no lock record", res.status) end
    return item
  elseif kind == "list" then
    return list_result(res)
  end
  return action_result(res)
end

-- parse_opts' helpers raise one level deeper: argerr <- helper <- parse_opts <- ARGS.x <- method <- caller.
local function fields_param(fname, fields, n)
  local list = type(fields) == "table" and fields or { fields }
  local out = {}
  for i, f in ipairs(list) do
    if type(f) ~= "string" then argerr(n, fname, "fields must be a string or an array of field names", 6) end
    for name in f:gmatch("[^,]+") do
      name = name:match("^%s*(.-)%s*$")
      if not name:match(NAME_PAT) then argerr(n, fname, "fields: '" .. name .. "' is not a field API name", 6) end
      out[#out + 1] = name
    end
    if i > 100 then break end
  end
  if #out == 0 then argerr(n, fname, "fields must name at least one field", 6) end
  return table.concat(out, ",")
end

local function ids_param(fname, ids, n)
  if type(ids) == "string" then
    local t = {}
    for id in ids:gmatch("[^,]+") do t[#t + 1] = id end
    ids = t
  end
  if type(ids) ~= "table" or #ids == 0 then argerr(n, fname, "ids must be an array of id strings", 6) end
  for _, id in ipairs(ids) do
    if type(id) ~= "string" or core.check_id(id) then argerr(n, fname, "ids: each id must be 1 to 19 digits", 6) end
  end
  return table.concat(ids, ",")
end

local function parse_opts(fname, opts, n)
  if opts == nil then return nil end
  if type(opts) ~= "table" then argerr(n, fname, "options table expected, got " .. type(opts)) end
  local params = {}
  if opts.fields ~= nil then params.fields = fields_param(fname, opts.fields, n) end
  for _, k in ipairs{ "page", "per_page" } do
    if opts[k] ~= nil then
      params[k] = posint(opts[k]) or argerr(n, fname, k .. " must be a positive integer")
    end
  end
  if opts.page_token ~= nil then
    local t = opts.page_token
    if type(t) ~= "string" or t == "" or #t > 4096 then argerr(n, fname, "page_token must be a non-empty string") end
    params.page_token = t
  end
  if opts.ids ~= nil then params.ids = ids_param(fname, opts.ids, n) end
  return next(params) and params or nil
end

local ARGS = {}

function ARGS.get(module, record_id, lock_id, opts)
  check_module(module, 1, "get")
  check_id(record_id, 2, "get", "record id")
  if type(lock_id) == "table" and opts == nil then lock_id, opts = nil, lock_id end
  if lock_id ~= nil then check_id(lock_id, 3, "get", "lock id") end
  return lock_id, parse_opts("get", opts, lock_id and 4 or 3)
end

function ARGS.lock(module, record_id, reason)
  check_module(module, 1, "lock")
  check_id(record_id, 2, "lock", "record id")
  check_reason(reason, 3, "lock")
end

function ARGS.update(module, record_id, lock_id, reason)
  check_module(module, 1, "update")
  check_id(record_id, 2, "update", "record id")
  check_id(lock_id, 3, "update", "lock id")
  check_reason(reason, 4, "update")
end

function ARGS.unlock(module, record_id, lock_id)
  check_module(module, 1, "unlock")
  check_id(record_id, 2, "unlock", "record id")
  if lock_id ~= nil then check_id(lock_id, 3, "unlock", "lock id") end
end

function ARGS.locked(module, record_id)
  check_module(module, 1, "locked")
  check_id(record_id, 2, "locked", "record id")
end

function ARGS.request(method, path, opts)
  if type(method) ~= "string" then argerr(1, "request", "method expected, got " .. type(method), 4) end
  if type(path) ~= "string" then argerr(2, "request", "path expected, got " .. type(path), 4) end
  if opts ~= nil and type(opts) ~= "table" then
    argerr(3, "request", "options table expected, got " .. type(opts), 4)
  end
end

-- For zlock.get/lock/... on the default client: the same checks before the client is built.
Client._args = ARGS

--- Gets locks of a record.
-- `c:get(module, record_id, lock_id [, opts])` returns the lock record (Zoho's field names:
-- `id`, `Locked_Reason__s`, `Lock_Source__s`, `Locked_For__s`, `Locked_Time__s`, `Locked_By__s`...).
-- `c:get(module, record_id [, opts])` returns the array of the record's locks (`{}` when it
-- is not locked; Zoho answers 204) and the paging `info` table as a second value.
-- @tparam string module module API name, e.g. `"Deals"`
-- @tparam string record_id the record id (1 to 19 digits)
-- @tparam[opt] string lock_id a lock id
-- @tparam[opt] table opts `fields` (string or array; defaulted), `page`, `per_page`, `page_token`, `ids`
-- @return the lock, or the array of locks and `info`; or `nil, err`
function Client:get(module, record_id, lock_id, opts)
  local params
  lock_id, params = ARGS.get(module, record_id, lock_id, opts)
  if lock_id ~= nil then
    local res, err = run(self, "get", "get_one", module, record_id, lock_id, nil, params)
    if not res then return nil, err end
    return Client._convert("get_one", res)
  end
  local res, err = run(self, "get", "list", module, record_id, nil, nil, params)
  if not res then return nil, err end
  return list_result(res)
end

--- Locks a record (POST; 201 from Zoho).
-- After an ambiguous failure (timeout, dropped reply, 5xx) the lock is not blindly re-sent:
-- zlock first looks for a manual lock with the same reason (a GET) and returns it if the
-- first try landed (`lock.reconciled = true`).
-- @tparam string module module API name
-- @tparam string record_id the record id
-- @tparam string reason the lock reason (1 to 3000 characters of UTF-8)
-- @treturn table the lock: `id` (the lock id), `details` (Zoho's: `id`, `Created_Time`, `Created_By`...),
--   `code`, `message`, `status`; or `nil, err`
function Client:lock(module, record_id, reason)
  ARGS.lock(module, record_id, reason)
  local res, err = run(self, "lock", "lock", module, record_id, nil, reason)
  if not res then return nil, err end
  return action_result(res)
end

--- Changes the reason of a lock (PUT).
-- @tparam string module module API name
-- @tparam string record_id the record id
-- @tparam string lock_id the lock id
-- @tparam string reason the new reason
-- @treturn table `{id=, details=, code=, message=, status=}`; or `nil, err`
function Client:update(module, record_id, lock_id, reason)
  ARGS.update(module, record_id, lock_id, reason)
  local res, err = run(self, "update", "update", module, record_id, lock_id, reason)
  if not res then return nil, err end
  return action_result(res)
end

--- Removes a lock (DELETE).
-- Without `lock_id` zlock finds the record's manual lock first: **two calls** (a GET list,
-- then the DELETE); `nil, err` with code `NOT_LOCKED` when the record has no lock.
-- An unlock retried after a lost reply that answers "relation not found" counts as done
-- (`reconciled = true`).
-- @tparam string module module API name
-- @tparam string record_id the record id
-- @tparam[opt] string lock_id the lock id
-- @treturn table `{id=, details=, code=, message=, status=}`; or `nil, err`
function Client:unlock(module, record_id, lock_id)
  ARGS.unlock(module, record_id, lock_id)
  if lock_id == nil then
    local locks, err = self:get(module, record_id)
    if not locks then return nil, err end
    local pick
    for _, l in ipairs(locks) do
      if l.Lock_Source__s == "Manual" then pick = l; break end
    end
    pick = pick or locks[1]   -- an automatic lock: Zoho answers why it cannot go
    if not pick then
      return nil, errors.new{ code = "NOT_LOCKED", message = "record " .. record_id .. " has no lock" }
    end
    lock_id = pick.id
  end
  local res, err = run(self, "unlock", "unlock", module, record_id, lock_id)
  if not res then return nil, err end
  return action_result(res)
end

--- Whether a record is locked.
-- @tparam string module module API name
-- @tparam string record_id the record id
-- @treturn boolean locked
-- @treturn table the first lock (a manual one when there is one), when locked; or `nil, err`
function Client:locked(module, record_id)
  ARGS.locked(module, record_id)
  local locks, err = self:get(module, record_id)
  if not locks then return nil, err end
  if #locks == 0 then return false end
  for _, l in ipairs(locks) do
    if l.Lock_Source__s == "Manual" then return true, l end
  end
  return true, locks[1]
end

--- Any Zoho CRM API call with the same token, retry and transport machinery.
-- `path` is absolute (`"/crm/v8/coql"`) or relative to `/crm/{api_version}/` (`"Deals/search"`).
-- @tparam string method `GET`, `POST`, `PUT`, `PATCH` or `DELETE`
-- @tparam string path the path
-- @tparam[opt] table opts `query` (table of parameters), `body` (string or table, JSON-encoded),
--   `idempotent` (default: every method but POST; a non-idempotent call is not re-sent after an
--   ambiguous failure)
-- @treturn table the decoded reply (`{}` for 204), the HTTP status; or `nil, err`
function Client:request(method, path, opts)
  ARGS.request(method, path, opts)
  opts = opts or {}
  local query
  if opts.query then
    query = {}
    for k, v in pairs(opts.query) do query[tostring(k)] = tostr_param(v) end
  end
  local body = opts.body
  if type(body) == "table" then body = assert(json.encode(body)) end
  local idem = opts.idempotent
  if idem == nil then idem = -1 elseif idem then idem = 1 else idem = 0 end
  local call, err = self._core:request(method:upper(), path, query, body, idem)
  if not call then return nil, errors.new(err) end
  local res
  res, err = drive(self, call, { operation = "request", path = path })
  if not res then return nil, err end
  if res.body == "" then return {}, res.status end
  local doc = decode(res.body)
  if doc == nil then return bad_response("reply is not JSON", res.status) end
  return doc, res.status
end

--- The concurrent bulk engine for `c:bulk`: the transport's own engine when it has
-- one (nginx light threads), else the C engine on libcurl multi (`zlock.engine_multi`).
-- @tparam table opts `concurrency` (max in flight; default: `zlock.options`), engine options
-- @return the engine, or `nil` and a reason
function Client:bulk_engine(opts)
  local t = self._transport
  if t and t.bulk_engine then return t:bulk_engine(self, opts) end
  if t then return nil, "the C bulk engine needs the libcurl transport" end
  local ok, m = pcall(require, "zlock.engine_multi")
  if not ok then return nil, m end
  return m.new(self, opts)
end

--- Installs an access token obtained elsewhere (e.g. from an nginx shared dict).
-- @tparam string token the access token
-- @tparam[opt] number expires_at Unix time in seconds
function Client:set_token(token, expires_at)
  if type(token) ~= "string" or token == "" then argerr(1, "set_token", "token string expected", 3) end
  self._core:set_token(token, expires_at or 0)
end

--- The effective settings: `api_domain`, `accounts_domain`, `api_version`, `refreshes`
-- (token refreshes made), `connects` (TCP connections opened by the libcurl transport),
-- `token_store` (`"file"`, `"redis"` or `"none"`) and `stored_token_expires_at` (when the
-- store holds a token: its expiry, Unix seconds; reading it adopts the stored API domain).
-- Never the token.
-- @treturn table
function Client:info()
  return self._core:info()
end

--- Releases the connection and the C client. Idempotent; also done by the garbage collector.
function Client:close()
  if self._core then self._core:close() end
end

function Client:__tostring()
  local i = self._core:info()
  return string.format("zlock client (%s, %s)", i.api_domain or "?", i.api_version or "?")
end

Client.__close = Client.close

return Client
