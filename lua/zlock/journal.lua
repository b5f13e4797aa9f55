--- Append-only journal of finished bulk items: what makes a bulk run resumable.
--
-- One JSON object per line, written when an item *finishes* (success or failure) with one
-- `write(2)` per line, checked and flushed at once (so a `kill -9` of the process loses nothing
-- already written); `close` also fsyncs the file (so an OS crash after the run loses nothing
-- either). A write that fails (a full disk...) is an error: `append` returns it and the journal
-- takes no more lines (the bulk runner then stops sending and the run fails).
-- A line holds the item key (`op|module|record_id[|lock_id]`), its outcome, the lock id when
-- there is one, the error code of a failure and a timestamp. It never holds a token, a secret,
-- or the lock reason (reasons can hold personal data and are not needed to resume).
--
--     {"zlock_journal":1,"policy":{"name":"Closed Lost","action":"lock","module":"Deals","reason":"9f3c01d2a1b0c4e7"}}
--     {"key":"lock|Deals|5843104000001068086","outcome":"locked","lock_id":"5843104000001099001","at":1795773600}
--
-- **Identity.** The first line of a journal written for a policy names it: its name, action,
-- module and a hash of its reason template (`M.identity`). Opening a journal with another
-- identity (another policy, or none against a policy's journal) is refused: a journal's keys
-- say which records were done, not by which policy, so another policy would skip them all.
--
-- **One run at a time.** `open` holds an exclusive `flock` on the file until `close`: a second
-- run on the same journal is refused at once (its lines would interleave with the first's).
--
-- On open, the existing file is read back: every key whose last outcome is a known final one
-- (`M.DONE`) is *done* and the runner skips it; anything else (`failed`, an outcome this
-- version does not know, a line that is not a journal entry) is not, so the item is tried
-- again. A torn last line (the process was killed in the middle of a write) is ignored and
-- the next write starts on a fresh line.
-- @module zlock.journal
local cjson = require "cjson.safe"

local M = {}

M.VERSION = 1

--- Outcomes that make an item done: a rerun skips it. Any other outcome is tried again.
M.DONE = { locked = true, already_locked = true, updated = true, unlocked = true,
           already_unlocked = true, got = true }

local function jerr(message)
  return require("zlock.error").new{ code = "JOURNAL", message = message }
end

-- A short, stable hash of a string (two 32-bit polynomial hashes, as hex): exact integer
-- arithmetic in doubles, so it is the same under every Lua version.
local function hash(s)
  local a, b = 5381, 0
  for i = 1, #s do
    local c = s:byte(i)
    a = (a * 33 + c) % 4294967296
    b = (b * 65599 + c) % 4294967296
  end
  return ("%08x%08x"):format(a, b)
end

--- The identity of a policy, as its journals record it: `name`, `action`, `module` and
-- `reason` (a hash of the reason template; `"function"` when the reason is a function).
-- @tparam table p a policy (see `zlock.policy`)
-- @treturn table
function M.identity(p)
  local reason = p.reason
  if type(reason) == "string" then reason = hash(reason)
  elseif reason ~= nil then reason = type(reason) end
  return { name = p.name ~= nil and tostring(p.name) or nil, action = p.action,
           module = p.module, reason = reason }
end

local function same_identity(a, b)
  if a == nil or b == nil then return a == b end
  return a.name == b.name and a.action == b.action and a.module == b.module and a.reason == b.reason
end

local function describe(id)
  if id == nil then return "no policy (written by c:bulk or an older zlock)" end
  return ("policy %q (action %s%s)"):format(tostring(id.name or "(unnamed)"), tostring(id.action),
    id.module and (", module " .. id.module) or "")
end

-- Opens `path` for reading (nil when it does not exist); raises a `JOURNAL` error when it
-- exists but cannot be read (e.g. it is a directory).
local function open_readable(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local _, rerr = f:read(0)   -- a directory opens, then cannot be read
  if rerr then
    f:close()
    error(jerr("cannot read journal " .. path .. ": " .. rerr), 0)
  end
  return f
end

--- Reads a journal file. Returns a table key -> last outcome (a string), the number of
-- entry lines read, whether the file ends in the middle of a line, and the identity line's
-- policy (nil when none); a missing file is an empty journal. Raises a `JOURNAL` error when
-- `path` exists but cannot be read (e.g. it is a directory).
-- @tparam string path
-- @treturn table outcomes by key
-- @treturn integer lines read (torn or foreign lines not counted)
-- @treturn boolean whether the file ends in the middle of a line
-- @treturn table|nil the identity the journal was written for
function M.read(path)
  local entries, n = {}, 0
  local f = open_readable(path)
  if not f then return entries, 0, false, nil end
  local torn, last, identity = false, nil, nil
  for line in f:lines() do
    last = line
    local e = cjson.decode(line)
    if type(e) == "table" then
      if type(e.key) == "string" and type(e.outcome) == "string" then
        entries[e.key] = e.outcome
        n = n + 1
      elseif e.zlock_journal ~= nil and identity == nil and type(e.policy) == "table" then
        identity = e.policy
      end
    end
  end
  -- a torn last line: the file does not end with a newline
  if last ~= nil then
    local size = f:seek("end")
    if size and size > 0 then
      f:seek("set", size - 1)
      torn = f:read(1) ~= "\n"
    end
  end
  f:close()
  return entries, n, torn, identity
end

local Journal = {}
Journal.__index = Journal

-- Refuses a journal written for another identity.
local function check_identity(path, found, n, want)
  if found == nil and n == 0 then return true end   -- new, empty or only foreign lines
  if same_identity(found, want) then return true end
  return nil, jerr(("journal %s belongs to %s, not to %s: use another --journal file (or remove "
    .. "this one to start over)"):format(path, describe(found), describe(want)))
end

--- Opens (creating it if needed) a journal for appending, after locking it and reading what is
-- already done.
-- @tparam string path
-- @tparam[opt] table opts `identity` (see `M.identity`: the journal is refused when it was
--  written for another one), `read_only` (a dry run: no lock, no file created, nothing written)
-- @return a journal object, or nil and an error table (code `JOURNAL`: in use by another run,
--  written for another policy, cannot be opened); raises a `JOURNAL` error when `path` exists
--  but cannot be read (a directory)
function M.open(path, opts)
  if type(path) ~= "string" or path == "" then
    error("bad argument #1 to 'journal.open' (file name expected)", 2)
  end
  opts = opts or {}
  local rf = open_readable(path)   -- a directory: raised, as by `read`
  if rf then rf:close() end
  local lock
  if not opts.read_only then
    local lerr, kind
    lock, lerr, kind = require("zlock.core").lock_file(path)
    if not lock then
      local what = kind == "busy" and "journal " or ("cannot " .. tostring(kind) .. " journal: ")
      return nil, jerr(what .. tostring(lerr))
    end
  end
  local entries, n, torn, found = M.read(path)
  local ok, ierr = check_identity(path, found, n, opts.identity)
  if not ok then
    if lock then lock:close() end
    return nil, ierr
  end
  local self = setmetatable({ path = path, entries = entries, previous = n, written = 0, lock = lock,
                              read_only = opts.read_only }, Journal)
  if opts.read_only then return self end
  local f, msg = io.open(path, "ab")
  if not f then
    lock:close()
    return nil, jerr("cannot open journal: " .. tostring(msg))
  end
  -- one write(2) per line: a line is formatted whole, buffered, then flushed
  f:setvbuf("full", 65536)
  self.f = f
  local head = torn and "\n" or ""
  if found == nil and opts.identity ~= nil then
    head = head .. cjson.encode{ zlock_journal = M.VERSION, policy = opts.identity } .. "\n"
  end
  if head ~= "" then
    local wok, werr = self:_write(head)
    if not wok then
      self:close()
      return nil, werr
    end
  end
  return self
end

-- Writes `s` (whole lines) and flushes; remembers and returns the first failure.
function Journal:_write(s)
  if self.err then return nil, self.err end
  local ok, msg = self.f:write(s)
  if ok then ok, msg = self.f:flush() end
  if not ok then
    self.err = jerr(("cannot write journal %s: %s"):format(self.path, tostring(msg)))
    return nil, self.err
  end
  return true
end

--- Whether `key` finished in an earlier run with a final outcome (memory holds the keys read
-- at open, one short string each, not what this run appends).
-- @tparam string key
-- @treturn boolean
-- @treturn string|nil the last outcome journaled for it
function Journal:done(key)
  local o = self.entries[key]
  if o and M.DONE[o] then return true, o end
  return false, o
end

--- Appends one finished item (one line, one write) and flushes it.
-- @tparam string key the item key
-- @tparam string outcome e.g. `locked`, `already_locked`, `updated`, `unlocked`, `failed`
-- @tparam[opt] table extra `lock_id`, `code`, `http_status` (nothing else is written)
-- @treturn true|nil true, or nil and the error (code `JOURNAL`) when the line could not be
--  written; after one failure every later append fails with the same error
function Journal:append(key, outcome, extra)
  if self.read_only then return true end
  extra = extra or {}
  local e = { key = key, outcome = outcome, at = os.time(),
              lock_id = extra.lock_id, code = extra.code, http_status = extra.http_status }
  local ok, err = self:_write(cjson.encode(e) .. "\n")
  if not ok then return nil, err end
  if self.entries[key] ~= nil then self.entries[key] = outcome end
  self.written = self.written + 1
  return true
end

--- Flushes, fsyncs and closes the journal, and releases its lock. Idempotent.
-- @treturn true|nil true, or nil and the error of a failed flush, fsync or close (or of an
--  earlier failed append)
function Journal:close()
  local err = self.err
  if self.f then
    local ok, msg = self.f:flush()
    if ok and self.lock then ok, msg = self.lock:sync() end
    local cok, cmsg = self.f:close()
    if ok and not cok then ok, msg = cok, cmsg end
    self.f = nil
    if not ok and not err then
      err = jerr(("cannot write journal %s: %s"):format(self.path, tostring(msg)))
      self.err = err
    end
  end
  if self.lock then self.lock:close(); self.lock = nil end
  if err then return nil, err end
  return true
end

return M
