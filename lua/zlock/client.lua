--- A zlock client: the four record-locking operations as Lua tables.
-- Created by `zlock.new{...}`; see `zlock` for the options. Every method returns its
-- result, or `nil, err` on a runtime failure (`zlock.error`), and raises
-- `bad argument #n to 'name' (...)` on a programmer mistake before any request is sent.
-- Ids are strings of 1 to 19 digits everywhere (never numbers); JSON null is `zlock.null`.
-- @classmod zlock.client
local core = require "zlock.core"
local json = require("cjson.safe").new()
local errors = require "zlock.error"

local Client = {}
Client.__index = Client

local LIST_PARAMS = { "fields", "page", "per_page", "page_token", "ids" }

-- Argument checks (level 4: the caller of the public method that called a check).
local function argerr(n, fname, msg)
  error(string.format("bad argument #%d to '%s' (%s)", n, fname, msg), 4)
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

-- Runs one core call to its end with the client's transport; returns the core result
-- table ({status, body, lock_id, reconciled, attempts}) or nil, err.
local function drive(self, call, info)
  local hook = self._on_retry
  local transport = self._transport
  if not transport then
    -- libcurl in C; returns here only between attempts (so the hook runs in plain Lua).
    while true do
      local w = call:run()
      if not w then break end
      if hook then
        info.attempt, info.delay, info.error = w.attempt, w.ms / 1000, errors.new(w.error)
        if hook(info) == false then call:cancel("CANCELLED", "on_retry hook stopped the retries") end
      end
      core.sleep(w.ms)
    end
  else
    while true do
      local s = call:next()
      local kind = s.kind
      if kind == "done" then break
      elseif kind == "send" then
        call:feed(transport:send(s))
      elseif kind == "wait" then
        if hook then
          info.attempt, info.delay, info.error = s.attempt, s.ms / 1000, errors.new(s.error)
          if hook(info) == false then call:cancel("CANCELLED", "on_retry hook stopped the retries") end
        end
        if transport.sleep then transport:sleep(s.ms) else core.sleep(s.ms) end
      elseif kind == "wait_token" then
        if transport.wait_token then transport:wait_token(s) else core.sleep(5) end
      end
    end
  end
  local res, err = call:result()
  call:close()
  if not res then return nil, errors.new(err) end
  return res
end

local function run(self, fname, kind, module, record_id, lock_id, reason, params)
  local call, err = self._core:call(kind, module, record_id, lock_id, reason, params)
  if not call then return nil, errors.new(err) end
  return drive(self, call, { operation = fname, module = module, record_id = record_id })
end

local function bad_response(msg, status)
  return nil, errors.new{ code = "BAD_RESPONSE", message = msg, http_status = status }
end

-- First item of {"data":[...]} as a table.
local function first_item(res)
  local doc = json.decode(res.body)
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

local function parse_opts(fname, opts, n)
  if opts == nil then return nil end
  if type(opts) ~= "table" then argerr(n, fname, "options table expected, got " .. type(opts)) end
  local params
  for _, k in ipairs(LIST_PARAMS) do
    if opts[k] ~= nil then
      params = params or {}
      params[k] = tostr_param(opts[k])
    end
  end
  return params
end

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
  check_module(module, 1, "get")
  check_id(record_id, 2, "get", "record id")
  if type(lock_id) == "table" and opts == nil then lock_id, opts = nil, lock_id end
  local params = parse_opts("get", opts, lock_id and 4 or 3)
  if lock_id ~= nil then
    check_id(lock_id, 3, "get", "lock id")
    local res, err = run(self, "get", "get_one", module, record_id, lock_id, nil, params)
    if not res then return nil, err end
    local item = first_item(res)
    if not item then return bad_response("reply has no lock record", res.status) end
    return item
  end
  local res, err = run(self, "get", "list", module, record_id, nil, nil, params)
  if not res then return nil, err end
  if res.status == 204 or res.body == "" then
    return {}, { count = 0, more_records = false }
  end
  local doc = json.decode(res.body)
  if type(doc) ~= "table" or type(doc.data) ~= "table" then
    return bad_response("list reply has no data array", res.status)
  end
  return doc.data, doc.info or { count = #doc.data, more_records = false }
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
  check_module(module, 1, "lock")
  check_id(record_id, 2, "lock", "record id")
  check_reason(reason, 3, "lock")
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
  check_module(module, 1, "update")
  check_id(record_id, 2, "update", "record id")
  check_id(lock_id, 3, "update", "lock id")
  check_reason(reason, 4, "update")
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
  check_module(module, 1, "unlock")
  check_id(record_id, 2, "unlock", "record id")
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
  else
    check_id(lock_id, 3, "unlock", "lock id")
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
  check_module(module, 1, "locked")
  check_id(record_id, 2, "locked", "record id")
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
  if type(method) ~= "string" then argerr(1, "request", "method expected, got " .. type(method)) end
  if type(path) ~= "string" then argerr(2, "request", "path expected, got " .. type(path)) end
  opts = opts or {}
  if type(opts) ~= "table" then argerr(3, "request", "options table expected, got " .. type(opts)) end
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
  local doc = json.decode(res.body)
  if doc == nil then return bad_response("reply is not JSON", res.status) end
  return doc, res.status
end

--- Installs an access token obtained elsewhere (e.g. from an nginx shared dict).
-- @tparam string token the access token
-- @tparam[opt] number expires_at Unix time in seconds
function Client:set_token(token, expires_at)
  if type(token) ~= "string" or token == "" then argerr(1, "set_token", "token string expected") end
  self._core:set_token(token, expires_at or 0)
end

--- The effective settings: `api_domain`, `accounts_domain`, `api_version`, `refreshes`
-- (token refreshes made), `connects` (TCP connections opened by the libcurl transport).
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
