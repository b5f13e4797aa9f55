--- A zlock client: the four record-locking operations as Lua tables.
-- Created by `zlock.new{...}`; see `zlock` for the options. Every method returns its
-- result, or `nil, err` on a runtime failure (`zlock.error`), and raises
-- `bad argument #n to 'name' (...)` on a programmer mistake before any request is sent.
-- Ids are strings of 1 to 19 digits everywhere (never numbers); JSON null is `zlock.null`.
-- @classmod zlock.client
local core = require "zlock.core"
local json = require("cjson.safe").new()   -- encodes request bodies
local errors = require "zlock.error"
local drivemod = require "zlock.drive"
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

local drive, failure = drivemod.drive, drivemod.failure

local function run(self, fname, kind, module, record_id, lock_id, reason, params, rerun)
  if not self._transport and not self._log then
    -- fast path: one C crossing unless a backoff interrupts it
    local res, call, w = self._core:run(kind, module, record_id, lock_id, reason, params, rerun)
    if res then return res end
    if res == nil then return nil, failure(self, call) end
    return drive(self, call, { operation = fname, module = module, record_id = record_id }, w)
  end
  local call, err = self._core:call(kind, module, record_id, lock_id, reason, params, rerun)
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

--- Turns a core result table (`{outcome, status, body, lock_id, reconciled, ...}`, as
-- `call:result()` gives) into what the public method returns, so every driver (blocking,
-- bulk engine, nginx) gives the same tables. The outcomes that mean "nothing to do"
-- (`already_locked`, `already_unlocked`) are `nil, err` here: the core's `error` (their why).
-- @tparam string kind `"get_one"`, `"list"`, `"lock"`, `"update"` or `"unlock"`
-- @tparam table res the core result
-- @return the method's results, or `nil, err`
function Client._convert(kind, res)
  if res.error then return nil, errors.new(res.error) end
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

-- The lock `res.lock_id` of a lock-list reply (an `already_locked` outcome found by a GET).
local function listed_lock(res)
  if not res.lock_id then return nil end
  local doc = decode(res.body)
  for _, l in ipairs(type(doc) == "table" and type(doc.data) == "table" and doc.data or {}) do
    if l.id == res.lock_id then return l end
  end
  return nil
end

--- A core result as a bulk runner sees it: the core's outcome, the value (what the public
-- method returns; for `already_locked` the lock that holds the record, when the core listed
-- it) and an error (the failure, or the why of an `already_` outcome).
-- @tparam string kind as for `_convert`
-- @tparam table res the core result
-- @treturn string outcome (`"failed"` when the reply could not be converted)
-- @return value or nil
-- @return err or nil
function Client._settle(kind, res)
  local outcome = res.outcome
  if res.error then
    return outcome, outcome == "already_locked" and listed_lock(res) or nil, errors.new(res.error)
  end
  local value, err = Client._convert(kind, res)   -- a list gives (locks, info): info is no error
  if value == nil then return "failed", nil, err end
  return outcome, value, nil
end

--- The core call kind of a bulk item (`{op=, lock_id=}`), or nil for an unknown op.
-- @tparam table item
-- @treturn string `"lock"`, `"update"`, `"unlock"`, `"get_one"` or `"list"`
function Client._kind(item)
  local op = item.op
  if op == "get" then return item.lock_id and "get_one" or "list" end
  if op == "lock" or op == "update" or op == "unlock" then return op end
  return nil
end

--- Runs one bulk item (`{op=, module=, record_id=, lock_id=, reason=, rerun=}`) with the
-- client's transport, for the engines written in Lua (sequential, nginx light threads).
-- @tparam table item
-- @return outcome, value, err as `_settle`
function Client:_perform(item)
  local kind = Client._kind(item)
  if not kind then
    return "failed", nil, errors.new{ code = "INVALID_ARGUMENT", message = "unknown op " .. tostring(item.op) }
  end
  local res, err = run(self, item.op, kind, item.module, item.record_id, item.lock_id, item.reason, nil,
                       item.rerun)
  if not res then return "failed", nil, err end
  return Client._settle(kind, res)
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
  return Client._convert("lock", res)
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
  return Client._convert("update", res)
end

--- Removes a lock (DELETE).
-- Without `lock_id` the core finds the record's manual lock (else its first lock) first:
-- **two calls** (a GET list, then the DELETE); `nil, err` with code `NOT_LOCKED` when the
-- record has no lock. An unlock retried after a lost reply that answers "relation not found"
-- counts as done (`reconciled = true`); "relation not found" on the first try is `nil, err`
-- (`INVALID_DATA`: the lock is gone already).
-- @tparam string module module API name
-- @tparam string record_id the record id
-- @tparam[opt] string lock_id the lock id
-- @treturn table `{id=, details=, code=, message=, status=}`; or `nil, err`
function Client:unlock(module, record_id, lock_id)
  ARGS.unlock(module, record_id, lock_id)
  local res, err = run(self, "unlock", "unlock", module, record_id, lock_id)
  if not res then return nil, err end
  return Client._convert("unlock", res)
end

--- Whether a record is locked.
-- @tparam string module module API name
-- @tparam string record_id the record id
-- @treturn boolean locked
-- @treturn table the lock an unlock without a lock id would remove (the manual one, else the
--   first), when locked; or `nil, err`
function Client:locked(module, record_id)
  ARGS.locked(module, record_id)
  local res, err = run(self, "locked", "list", module, record_id)
  if not res then return nil, err end
  local locks
  locks, err = list_result(res)
  if not locks then return nil, err end
  local id = #locks > 0 and core.pick_lock(res.body)
  for _, l in ipairs(locks) do
    if l.id == id then return true, l end
  end
  return #locks > 0, locks[1]
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

--- The concurrent bulk engine for this client (`zlock.engine` chooses it: the transport's own
-- engine inside nginx, else the C engine on libcurl multi, `zlock.engine_multi`).
-- @tparam table opts `concurrency` (max in flight; default: `zlock.options`), engine options
-- @return the engine, or `nil` and a reason
function Client:bulk_engine(opts)
  return require("zlock.engine").concurrent(self, opts)
end

--- The Lua transport this client runs on (the `ngx` one, or a table given as `transport`), or
-- nil when it runs on the C core's libcurl transport.
-- @return the transport, or nil
function Client:transport()
  return self._transport
end

--- What an engine built on the C core drives: the C client (`zlock.core`); `settle(kind,
-- core_result)`, which turns a core result into the outcome, value and error a bulk item gets
-- (`_settle`); and `kind(item)`, the core call kind of an item (`_kind`).
-- @return the C client, `settle` and `kind`, or `nil` and a reason (a Lua transport: its calls
--  are not libcurl's)
function Client:engine_core()
  if self._transport then return nil, "the C bulk engine needs the libcurl transport" end
  return self._core, Client._settle, Client._kind
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
