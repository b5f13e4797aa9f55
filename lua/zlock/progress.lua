--- A one-line progress bar for bulk runs: done/total, rate, ETA, failures.
--
-- Drawn on a terminal only (stderr by default, checked with `test -t 2`); silent otherwise, so
-- logs and CI output stay clean. Redrawn at most 10 times a second.
--
--     local p = progress.new{ label = "lock Deals" }
--     p:update{ done = 10, total = 52, failed = 0 }
--     p:finish()
-- @module zlock.progress
local M = {}

--- A clock in seconds with sub-second resolution when one is available (LuaSocket), else `os.time`.
M.clock = (function()
  local ok, socket = pcall(require, "socket")
  if ok and type(socket) == "table" and socket.gettime then return socket.gettime end
  return os.time
end)()

--- Whether file descriptor `fd` (default 2, stderr) is a terminal.
-- @tparam[opt=2] integer fd
-- @treturn boolean
function M.isatty(fd)
  local ok, how, code = os.execute("test -t " .. (fd or 2))
  if type(ok) == "number" then return ok == 0 end  -- Lua 5.1
  return ok == true and how == "exit" and code == 0
end

local function columns()
  local n = tonumber(os.getenv("COLUMNS") or "")
  if n and n >= 40 then return n end
  local p = io.popen("stty size </dev/tty 2>/dev/null")
  if p then
    local out = p:read("*a") or ""
    p:close()
    n = tonumber(out:match("%d+%s+(%d+)"))
    if n and n >= 40 then return n end
  end
  return 80
end

--- Formats seconds as `m:ss` or `h:mm:ss`.
-- @tparam number s
-- @treturn string
function M.duration(s)
  if not s or s ~= s or s == math.huge then return "--:--" end
  s = math.floor(s + 0.5)
  if s >= 3600 then
    return ("%d:%02d:%02d"):format(math.floor(s / 3600), math.floor((s % 3600) / 60), s % 60)
  end
  return ("%d:%02d"):format(math.floor(s / 60), s % 60)
end

local Progress = {}
Progress.__index = Progress

--- Creates a progress bar.
-- @tparam[opt] table opts `label`, `stream` (default io.stderr), `enabled` (default: stream is a
-- tty), `total` (may be set later), `width` (columns)
-- @return progress object
function M.new(opts)
  opts = opts or {}
  local stream = opts.stream or io.stderr
  local enabled = opts.enabled
  if enabled == nil then enabled = (stream == io.stderr and M.isatty(2)) or (stream == io.stdout and M.isatty(1)) end
  local utf8ok = (os.getenv("LC_ALL") or os.getenv("LC_CTYPE") or os.getenv("LANG") or ""):lower():find("utf%-?8")
  return setmetatable({
    stream = stream, enabled = enabled, label = opts.label or "", total = opts.total,
    width = opts.width or (enabled and columns() or 80), started = M.clock(), last = -1,
    fill = utf8ok and "█" or "#", empty = utf8ok and "░" or "-", state = {},
  }, Progress)
end

--- The text of the bar for a state (without drawing it): useful for tests and custom displays.
-- @tparam table s `done`, `total` (nil: unknown), `failed`, `skipped`
-- @tparam number elapsed seconds
-- @treturn string
-- The counters right of the bar: `done/total  rate/s  ETA  failed  skipped`.
local function counters(s, elapsed)
  local done, total = s.done or 0, s.total
  local rate = elapsed > 0 and done / elapsed or 0
  local right = ("%d/%s  %5.1f/s"):format(done, total and tostring(total) or "?", rate)
  if total and total > 0 then
    local eta = rate > 0 and (total - done) / rate or nil
    right = right .. "  ETA " .. M.duration(eta)
  end
  right = right .. ("  failed %d"):format(s.failed or 0)
  if (s.skipped or 0) > 0 then right = right .. ("  skipped %d"):format(s.skipped) end
  return right
end

function Progress:render(s, elapsed)
  local done, total = s.done or 0, s.total
  local right = counters(s, elapsed)
  local label = self.label ~= "" and (self.label .. " ") or ""
  local barw = self.width - #label - #right - 10
  if barw < 10 then barw = 10 end
  local frac = (total and total > 0) and math.min(done / total, 1) or 0
  local full = math.floor(frac * barw + 0.5)
  local bar = self.fill:rep(full) .. self.empty:rep(barw - full)
  local pct = (total and total > 0) and ("%3d%%"):format(math.floor(frac * 100)) or "  ?%"
  return label .. bar .. " " .. pct .. "  " .. right
end

--- Updates the state and redraws (at most 10 times a second unless `force`).
-- @tparam table s `done`, `total`, `failed`, `skipped`
-- @tparam[opt] boolean force
function Progress:update(s, force)
  self.state = s
  if not self.enabled then return end
  if (s.done or 0) == 0 and s.total == 0 then return end   -- nothing to do: no bar at all
  local now = M.clock()
  if not force and now - self.last < 0.1 then return end
  self.last = now
  self.stream:write("\r\27[K", self:render(s, now - self.started))
  self.stream:flush()
end

--- Draws the final state and ends the line. Idempotent.
function Progress:finish()
  if self.finished then return end
  self.finished = true
  if not self.enabled then return end
  self:update(self.state, true)
  if self.last < 0 then return end   -- never drawn
  self.stream:write("\n")
  self.stream:flush()
end

return M
