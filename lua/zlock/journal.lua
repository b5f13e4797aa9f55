--- Append-only journal of finished bulk items: what makes a bulk run resumable.
--
-- One JSON object per line, written when an item *finishes* (success or failure) and flushed
-- at once (`write(2)` reaches the kernel, so a `kill -9` of the process loses nothing already
-- written); `close` also fsyncs the file (so an OS crash after the run loses nothing either).
-- A line holds the item key (`op|module|record_id[|lock_id]`), its outcome, the lock id when
-- there is one, the error code of a failure and a timestamp. It never holds a token, a secret,
-- or the lock reason (reasons can hold personal data and are not needed to resume).
--
--     {"key":"lock|Deals|5843104000001068086","outcome":"locked","lock_id":"5843104000001099001","at":1795773600}
--
-- On open, the existing file is read back: every key whose last outcome is final (anything
-- but `failed`) is *done* and the runner skips it. A torn last line (the process was killed in
-- the middle of a write) is ignored and the next write starts on a fresh line.
-- @module zlock.journal
local cjson = require "cjson.safe"

local M = {}

--- Outcomes that do not make an item done: it is tried again on the next run.
M.NOT_DONE = { failed = true, planned = true }

local Journal = {}
Journal.__index = Journal

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- Reads a journal file. Returns a table key -> last outcome (a string), and the number
-- of lines read; a missing file is an empty journal. Raises a `JOURNAL` error when `path`
-- exists but cannot be read (e.g. it is a directory).
-- @tparam string path
-- @treturn table outcomes by key
-- @treturn integer lines read (torn or foreign lines not counted)
-- @treturn boolean whether the file ends in the middle of a line
function M.read(path)
  local entries, n = {}, 0
  local f = io.open(path, "rb")
  if not f then return entries, 0, false end
  local _, rerr = f:read(0)   -- a directory opens, then cannot be read
  if rerr then
    f:close()
    error(require("zlock.error").new{ code = "JOURNAL", message = "cannot read journal " .. path .. ": " .. rerr }, 0)
  end
  local torn, last = false, nil
  for line in f:lines() do
    last = line
    local e = cjson.decode(line)
    if type(e) == "table" and type(e.key) == "string" and type(e.outcome) == "string" then
      entries[e.key] = e.outcome
      n = n + 1
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
  return entries, n, torn
end

--- Opens (creating it if needed) a journal for appending, after reading what is already done.
-- @tparam string path
-- @return a journal object, or nil and an error table
function M.open(path)
  if type(path) ~= "string" or path == "" then
    error("bad argument #1 to 'journal.open' (file name expected)", 2)
  end
  local entries, n, torn = M.read(path)
  local f, msg = io.open(path, "ab")
  if not f then
    return nil, require("zlock.error").new{ code = "JOURNAL", message = "cannot open journal: " .. tostring(msg) }
  end
  f:setvbuf("no")
  if torn then f:write("\n") end
  local self = setmetatable({ path = path, f = f, entries = entries, previous = n, written = 0 }, Journal)
  return self
end

--- Whether `key` finished in an earlier run with a final outcome (memory holds the keys read
-- at open, one short string each, not what this run appends).
-- @tparam string key
-- @treturn boolean
-- @treturn string|nil the last outcome journaled for it
function Journal:done(key)
  local o = self.entries[key]
  if o and not M.NOT_DONE[o] then return true, o end
  return false, o
end

--- Appends one finished item and flushes it.
-- @tparam string key the item key
-- @tparam string outcome e.g. `locked`, `already_locked`, `updated`, `unlocked`, `failed`
-- @tparam[opt] table extra `lock_id`, `code`, `http_status` (nothing else is written)
function Journal:append(key, outcome, extra)
  extra = extra or {}
  local e = { key = key, outcome = outcome, at = os.time(),
              lock_id = extra.lock_id, code = extra.code, http_status = extra.http_status }
  self.f:write(cjson.encode(e), "\n")
  self.f:flush()
  if self.entries[key] ~= nil then self.entries[key] = outcome end
  self.written = self.written + 1
end

--- Flushes, fsyncs (via coreutils' `sync FILE`) and closes the journal. Idempotent.
function Journal:close()
  if not self.f then return end
  self.f:flush()
  self.f:close()
  self.f = nil
  os.execute("sync -- " .. shell_quote(self.path) .. " >/dev/null 2>&1")
end

return M
