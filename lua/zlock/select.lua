--- Record selection: iterators over search, record lists and COQL that page for you, and
-- `c:locks()`, every lock of the org for audits.
--
--     for deal in c:search("Deals", "(Stage:equals:Closed Lost)") do ... end
--     for lead in c:records("Leads", { fields = { "Last_Name", "Locked__s" } }) do ... end
--     for row in c:coql("select id, Deal_Name from Deals where Stage = 'Closed Lost'") do ... end
--     for lock in c:locks("Deals") do print(lock.record_id, lock.id, lock.Lock_Source__s) end
--
-- Each iterator yields one record (a table with Zoho's field names, ids as strings) per step
-- and fetches the next page when the current one is used up, so memory holds one page.
-- A failed page request **raises** the zlock error table (iterators cannot return `nil, err`
-- to a `for` loop); wrap the loop in `pcall` to handle it. 204 means "no (more) records".
--
-- Paging rules (Zoho's): `per_page` at most 200; record lists past 2,000 records continue with
-- `page_token` (from `info.next_page_token`); search stops at 2,000 records (Zoho's cap, and
-- its reply does not say whether more matched: once 2,000 records were yielded the iterator
-- raises `LIMIT_EXCEEDED`, so a policy never acts on a silently truncated set: use COQL or a
-- record list instead); COQL pages with `limit offset, 2000`.
-- @module zlock.select
local cjson = require "cjson.safe"

local M = {}

M.PER_PAGE = 200
M.SEARCH_MAX = 2000
M.COQL_PAGE = 2000

--- Modules that can hold locks (Zoho's record locking documentation); custom modules are added from
-- `settings/modules` by `c:locks()`.
M.LOCK_MODULES = { "Leads", "Accounts", "Contacts", "Deals", "Tasks", "Cases", "Solutions", "Vendors",
                   "Price_Books", "Quotes", "Sales_Orders", "Purchase_Orders", "Invoices", "Products" }

local function mkerr(code, message, status)
  return require("zlock.error").new{ code = code, message = message, http_status = status }
end

--- Escapes a value for a search criteria: `\` `(` `)` `,` get a backslash.
--     "(Account_Name:equals:" .. select.escape("Smith, Jones (UK)") .. ")"
-- @tparam string v
-- @treturn string
function M.escape(v)
  return (tostring(v):gsub("[\\(),]", "\\%0"))
end

--- Quotes a string literal for COQL: `'O\'Brien'`.
-- @tparam string v
-- @treturn string
function M.quote(v)
  return "'" .. tostring(v):gsub("[\\']", "\\%0") .. "'"
end

-- One generic request through the client (`c:request`: decoded reply, `{}` for 204, and the
-- HTTP status; or nil, err): returns the reply (nil for 204) and the status, or raises the error.
local function request(c, method, path, query, body)
  if type(c.request) ~= "function" then
    error(mkerr("INVALID_ARGUMENT", "this client has no request method (zlock core too old?)"), 0)
  end
  -- every selection call reads (a COQL POST too): safe to send again after a 5xx or a lost reply
  local doc, status = c:request(method, path, { query = query, body = body, idempotent = true })
  if doc == nil then error(status or mkerr("BAD_RESPONSE", "request failed"), 0) end
  if status == 204 then return nil, 204 end
  if type(doc) ~= "table" then
    error(mkerr("BAD_RESPONSE", "reply to " .. method .. " " .. path .. " is not a JSON object", status), 0)
  end
  return doc, status
end

local function fields_param(f)
  if f == nil then return nil end
  if type(f) == "table" then return table.concat(f, ",") end
  return tostring(f)
end

local function check_module(fname, module)
  if type(module) ~= "string" or not module:match("^[A-Za-z][A-Za-z0-9_]*$") or #module > 100 then
    error(("bad argument #1 to '%s' (module API name expected, got %s)"):format(fname,
      type(module) == "string" and ("%q"):format(module) or type(module)), 3)
  end
end

--- A page iterator over any Zoho list endpoint: each call returns the next page's records
-- (an array) and its `info`, or nil when there are no more.
-- @param c client
-- @tparam string path e.g. "Deals" or "Deals/search" (relative to /crm/{version}/)
-- @tparam table query query parameters (per_page defaulted to 200)
-- @tparam[opt] table opts `max` (the endpoint's cap: when more records remain past it,
-- `on_cap(n)` is called on the next step, e.g. to raise)
-- @treturn function
function M.pages(c, path, query, opts)
  opts = opts or {}
  local q = {}
  for k, v in pairs(query or {}) do q[k] = v end
  q.per_page = q.per_page or M.PER_PAGE
  local page, token, seen, finished, capped = 1, nil, 0, false, false
  return function()
    if capped then
      capped = false
      if opts.on_cap then opts.on_cap(seen) end
    end
    if finished then return nil end
    if token then q.page_token = token; q.page = nil else q.page = page end
    local data, status = request(c, "GET", path, q)
    if status == 204 or not data or type(data.data) ~= "table" or #data.data == 0 then
      finished = true
      return nil
    end
    local info = data.info or {}
    seen = seen + #data.data
    if opts.max and seen >= opts.max then
      -- the endpoint's cap: more may remain than it can page to (Zoho's search then says
      -- more_records = false all the same)
      finished, capped = true, true
    elseif info.more_records == true then
      if type(info.next_page_token) == "string" and info.next_page_token ~= "" then
        token = info.next_page_token
      else
        token = nil
        page = page + 1
      end
    else
      finished = true
    end
    return data.data, info
  end
end

-- Flattens a page iterator into a record iterator.
local function flatten(next_page)
  local buf, i = nil, 0
  return function()
    while true do
      if buf and i < #buf then
        i = i + 1
        return buf[i]
      end
      buf, i = next_page(), 0
      if not buf then return nil end
    end
  end
end

--- Pages of a search: see `search` (returns a page iterator: `records, info` per call).
function M.search_pages(c, module, criteria, opts)
  check_module("search", module)
  if type(criteria) ~= "string" or criteria == "" then
    error("bad argument #2 to 'search' (criteria string expected)", 2)
  end
  opts = opts or {}
  local q = { criteria = criteria, fields = fields_param(opts.fields), per_page = opts.per_page }
  return M.pages(c, module .. "/search", q, {
    max = M.SEARCH_MAX,
    on_cap = function(n)
      -- Zoho's search returns at most 2,000 records: refuse to pretend the set is complete
      error(mkerr("LIMIT_EXCEEDED", ("search matched more than %d records (Zoho's cap); "
        .. "use c:coql() or c:records() to select them all"):format(n)), 0)
    end,
  })
end

--- Iterates over the records matching a search criteria (`GET /crm/{v}/{module}/search`).
-- Costs one call per 200 records. Raises LIMIT_EXCEEDED after yielding 2,000 records (Zoho's
-- cap: more may match).
-- @param c client
-- @tparam string module e.g. "Deals"
-- @tparam string criteria e.g. `"((Stage:equals:Closed Lost)and(Amount:greater_than:1000))"`
--  (escape values with `select.escape`)
-- @tparam[opt] table opts `fields` (array or comma string), `per_page` (<= 200)
-- @treturn function iterator yielding records
function M.search(c, module, criteria, opts)
  return flatten(M.search_pages(c, module, criteria, opts))
end

--- Pages of a record list: see `records`.
function M.records_pages(c, module, opts)
  check_module("records", module)
  opts = opts or {}
  local q = { fields = fields_param(opts.fields), per_page = opts.per_page,
              sort_by = opts.sort_by, sort_order = opts.sort_order }
  return M.pages(c, module, q)
end

--- Iterates over every record of a module (`GET /crm/{v}/{module}?fields=`), past 2,000 with
-- `page_token`. Costs one call per 200 records.
-- @param c client
-- @tparam string module
-- @tparam table opts `fields` (required by Zoho: array or comma string), `per_page`,
--  `sort_by`, `sort_order`
-- @treturn function iterator yielding records
function M.records(c, module, opts)
  return flatten(M.records_pages(c, module, opts))
end

--- Pages of a COQL query: see `coql`.
function M.coql_pages(c, query, opts)
  if type(query) ~= "string" or query == "" then
    error("bad argument #1 to 'coql' (select query string expected)", 2)
  end
  opts = opts or {}
  local size = opts.per_page or M.COQL_PAGE
  local has_limit = query:lower():find("%slimit%s+%d") ~= nil
  local offset, finished = 0, false
  return function()
    if finished then return nil end
    local q = query
    if not has_limit then q = ("%s limit %d, %d"):format(query, offset, size) end
    local data, status = request(c, "POST", "coql", nil, cjson.encode{ select_query = q })
    if status == 204 or not data or type(data.data) ~= "table" or #data.data == 0 then
      finished = true
      return nil
    end
    local info = data.info or {}
    offset = offset + #data.data
    if has_limit or info.more_records ~= true then finished = true end
    return data.data, info
  end
end

--- Iterates over the rows of a COQL query (`POST /crm/{v}/coql`), paging with
-- `limit offset, 2000` unless the query has its own `limit` (then one call).
-- Costs one call per 2,000 rows.
-- @param c client
-- @tparam string query e.g. `"select id, Deal_Name from Deals where Stage = 'Closed Lost'"`
-- @tparam[opt] table opts `per_page` (rows per call, <= 2000)
-- @treturn function iterator yielding rows
function M.coql(c, query, opts)
  return flatten(M.coql_pages(c, query, opts))
end

-- Errors that are not about one module (the token, the network, the org's limits or
-- edition): the audit stops at the first one instead of meeting it in every module.
local GLOBAL = { TOKEN = true, INVALID_TOKEN = true, OAUTH_SCOPE_MISMATCH = true, CONNECT = true,
                 TIMEOUT = true, TRANSPORT = true, CLOSED = true, CREDITS_EXHAUSTED = true,
                 TOO_MANY_REQUESTS = true, FEATURE_NOT_SUPPORTED = true, INVALID_ARGUMENT = true,
                 CANCELLED = true }

-- The audit's failures so far as one error: code INCOMPLETE, `failures` = list of
-- `{what =, err =}`.
local function incomplete(failures)
  local parts = {}
  for i, f in ipairs(failures) do parts[i] = f.what .. ": " .. tostring(f.err) end
  local e = mkerr("INCOMPLETE", ("the lock audit is incomplete (%d failed call%s): %s"):format(#failures,
    #failures == 1 and "" or "s", table.concat(parts, "; ")))
  e.failures = failures
  return e
end

-- Records a failure; raises the audit's error at once when it is not about one module.
local function record(failures, what, err)
  if type(err) ~= "table" then
    if tostring(err):find("interrupted!", 1, true) then error(err, 0) end   -- SIGINT: not a failure
    err = mkerr("ERROR", tostring(err))
  end
  failures[#failures + 1] = { what = what, err = err }
  if GLOBAL[err.code] then error(incomplete(failures), 0) end
end

-- Modules to audit: the given one, or every lockable module that has a locking configuration.
-- A standard module the org does not have (INVALID_MODULE) is not audited; any other failure
-- is recorded in `failures` (see `record`).
local function audit_modules(c, module, failures)
  if module then return { module } end
  local names, seen = {}, {}
  for _, m in ipairs(M.LOCK_MODULES) do names[#names + 1] = m; seen[m] = true end
  local ok, data = pcall(request, c, "GET", "settings/modules")
  if not ok then
    record(failures, "settings/modules (custom modules)", data)
  elseif data and type(data.modules) == "table" then
    for _, m in ipairs(data.modules) do
      local name = m.api_name
      if type(name) == "string" and not seen[name] and (m.generated_type == "custom" or name:match("__c$")) then
        names[#names + 1] = name; seen[name] = true
      end
    end
  end
  local out = {}
  for _, m in ipairs(names) do
    local okc, cfg, status = pcall(request, c, "GET", "settings/record_locking_configurations", { module = m })
    if not okc then
      if not (type(cfg) == "table" and cfg.code == "INVALID_MODULE") then
        record(failures, m .. " (locking configuration)", cfg)
      end
    elseif status ~= 204 and cfg then
      out[#out + 1] = m
    end
  end
  return out
end

-- The locks of `ids` (records of `module`), fetched concurrently through the bulk runner;
-- returned in the order of `ids`. Raises the first error.
local function fetch_locks(c, module, ids, concurrency)
  local bulk = require "zlock.bulk"
  local by, failure = {}, nil
  local run = assert(bulk.new(c, { concurrency = concurrency, on_result = function(item, res, err)
    if item.outcome == "got" then
      by[item.record_id] = res
    elseif not failure then
      failure = err
    end
  end }))
  for _, id in ipairs(ids) do run:get(module, id) end
  run:finish()
  if failure then error(failure, 0) end
  local out = {}
  for _, id in ipairs(ids) do
    local list = by[id] or {}
    if list.id then list = { list } end
    for _, l in ipairs(list) do
      l.module, l.record_id = module, id
      out[#out + 1] = l
    end
  end
  return out
end

--- Iterates over every lock of the org (or of one module), for audits.
-- Each yielded lock is the lock record (Zoho's field names) plus `module` and `record_id`.
--
-- Cost in API calls, for M modules audited and L locked records:
-- `1 + M` to find the modules with a locking configuration (none of that when `module` is
-- given), then per module `ceil(L_m / 2000)` COQL calls (`select id from X where Locked__s =
-- true`), then **one lock-list call per locked record**: about `L` calls in all. An org with
-- 10,000 locks costs ~10,000 calls (credits!): audit one module at a time when you can.
-- The per-record calls run concurrently through the bulk runner (`opts.concurrency`, default
-- 10), one COQL page (up to 2,000 records) at a time.
--
-- Nothing fails silently: a module whose calls fail is recorded and the audit goes on with the
-- other modules (an error about the token, the network or the org's limits stops it at once);
-- after the last lock the iterator raises an `INCOMPLETE` error (`err.failures`: list of
-- `{what, err}`), so what was yielded before it is a partial result. Standard modules the org
-- does not have (`INVALID_MODULE`) are skipped.
-- @param c client
-- @tparam[opt] string module
-- @tparam[opt] table opts `concurrency`
-- @treturn function iterator yielding locks
function M.locks(c, module, opts)
  if module ~= nil then check_module("locks", module) end
  opts = opts or {}
  local modules, mi = nil, 0
  local pages, buf, bi = nil, {}, 0
  local current
  local failures = {}
  -- the next page of locks of the current module (nil: none left), or false when the
  -- module failed (recorded: the audit goes on with the next module)
  local function next_locks()
    local ok, res = pcall(function()
      local rows = pages()
      if not rows then return nil end
      local ids = {}
      for i, r in ipairs(rows) do ids[i] = tostring(r.id) end
      return fetch_locks(c, current, ids, opts.concurrency)
    end)
    if ok then return res end
    record(failures, current .. " (locked records)", res)
    return false
  end
  return function()
    modules = modules or audit_modules(c, module, failures)
    while true do
      if bi < #buf then
        bi = bi + 1
        return buf[bi]
      end
      local got = pages and next_locks()
      if got then
        buf, bi = got, 0
      else
        mi = mi + 1
        current = modules[mi]
        if not current then
          if #failures > 0 then error(incomplete(failures), 0) end
          return nil
        end
        pages = M.coql_pages(c, ("select id from %s where Locked__s = true"):format(current))
      end
    end
  end
end

--- Installs `search`, `records`, `coql`, `locks` (and the `*_pages` forms) on a client class.
-- @tparam table Client the client method table
function M.install(Client)
  for _, name in ipairs{ "search", "records", "coql", "locks", "search_pages", "records_pages", "coql_pages" } do
    Client[name] = M[name]
  end
end

return M
