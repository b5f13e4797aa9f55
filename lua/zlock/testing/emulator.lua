--- A zlock-emu process for tests: started on a free loopback port, stopped by its PID.
--
-- Used through `zlock.testing.emulator`; see there for the options. The process is stopped by
-- `emu:stop()`, else when the object is garbage collected (a `__gc` sentinel, also on Lua 5.1),
-- else by the emulator itself (`--exit-with-parent`) as soon as the Lua process that started
-- it is gone, even after `kill -9`: no test, failing or not, leaves an emulator running.
-- @module zlock.testing.emulator
local cjson = require "cjson.safe"
local fixture = require "zlock.testing.fixture"

local M = {}

--- The demo org's static access token (the emulator's default one).
M.ACCESS_TOKEN = "1000.zlockemu.demo-access-token"

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- Whether a shell command exits 0 (os.execute answers true on Lua 5.2+, 0 on 5.1 and LuaJIT).
local function succeeded(cmd)
  local status = os.execute(cmd)
  return status == 0 or status == true
end

local function executable(path)
  return succeeded("test -f " .. shell_quote(path) .. " && test -x " .. shell_quote(path))
end

-- Directory of this source file (nil when loaded from a string).
local function here()
  local src = debug.getinfo(1, "S").source
  return src:sub(1, 1) == "@" and src:sub(2):match("^(.*)/[^/]*$") or nil
end

--- Where zlock-emu is looked for, in order: `opts.bin`, the `ZLOCK_EMU` environment variable,
-- the checkout this module was loaded from (`build/zlock-emu`), the LuaRocks tree it was
-- installed into (`bin/zlock-emu`), then `PATH`.
-- @tparam[opt] string bin an explicit path
-- @treturn string|nil the path
-- @treturn string|nil what was tried and how to get the binary, when none was found
function M.find(bin)
  if bin then
    if executable(bin) then return bin end
    return nil, "zlock-emu: " .. bin .. " (the bin option) is not an executable file"
  end
  local env = os.getenv("ZLOCK_EMU")
  if env and env ~= "" then
    if executable(env) then return env end
    return nil, "zlock-emu: ZLOCK_EMU=" .. env .. " is not an executable file"
  end
  local tried = { "ZLOCK_EMU (unset)" }
  local dir = here()   -- <root>/lua/zlock/testing or <tree>/share/lua/<v>/zlock/testing
  if dir then
    local candidates = {
      dir .. "/../../../build/zlock-emu",          -- a checkout
      dir .. "/../../../../../bin/zlock-emu",      -- a LuaRocks tree
    }
    for _, c in ipairs(candidates) do
      if executable(c) then return c end
      tried[#tried + 1] = c
    end
  end
  local p = io.popen("command -v zlock-emu 2>/dev/null")
  local found = p and p:read("*l")
  if p then p:close() end
  if found and found ~= "" then return found end
  tried[#tried + 1] = "PATH"
  return nil, "zlock-emu not found (looked at " .. table.concat(tried, ", ") .. "). It is built and " ..
    "installed with zlock when libmicrohttpd and jansson development files are present " ..
    "(Debian: apt-get install libmicrohttpd-dev libjansson-dev, then luarocks make again), or " ..
    "build it with `make emu` in a zlock checkout and set ZLOCK_EMU=/path/to/zlock-emu"
end

-- Command-line flags for the options of `zlock.testing.emulator`.
local FLAGS = {
  latency = "--latency", concurrency_limit = "--concurrency-limit", fail_rate = "--fail-rate",
  drop_rate = "--drop-rate", drop_mode = "--drop-mode", random_seed = "--random-seed",
  credits = "--credits", credits_window = "--credits-window", token_ttl = "--token-ttl",
  state = "--state", access_token = "--access-token",
}
local KNOWN = { seed = true, records = true, args = true, bin = true, verbose = true }
for k in pairs(FLAGS) do KNOWN[k] = true end

-- Turns the options into argv; a table seed is written to a temporary file (returned).
local function argv(opts)
  for k in pairs(opts) do
    if not KNOWN[k] then error("zlock.testing.emulator: unknown option '" .. tostring(k) .. "'", 4) end
  end
  local a, tmp = { "--listen", "127.0.0.1:0", "--exit-with-parent" }, nil
  local seed = opts.seed   -- nil: zlock-emu's default, the demo org
  if type(seed) == "table" then
    tmp = os.tmpname()
    local f = assert(io.open(tmp, "wb"))
    f:write(fixture.encode(seed))
    f:close()
    seed = tmp
  elseif seed ~= nil and type(seed) ~= "string" then
    error("zlock.testing.emulator: seed must be \"demo\", \"empty\", a file name or a table", 4)
  end
  if seed then a[#a + 1] = "--seed"; a[#a + 1] = seed end
  if opts.records then
    local parts = {}
    for m, n in pairs(opts.records) do parts[#parts + 1] = m .. "=" .. tostring(n) end
    table.sort(parts)
    a[#a + 1] = "--records"; a[#a + 1] = table.concat(parts, ",")
  end
  local names = {}
  for k in pairs(FLAGS) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do
    if opts[k] ~= nil then a[#a + 1] = FLAGS[k]; a[#a + 1] = tostring(opts[k]) end
  end
  if opts.verbose then a[#a + 1] = "--verbose" end
  for _, x in ipairs(opts.args or {}) do a[#a + 1] = x end
  return a, tmp
end

local Emu = {}
Emu.__index = Emu

-- Stops the process (SIGTERM, else `sig`), reaps it, removes the temporary files.
local function halt(self, sig)
  if not self.pipe then return nil end
  os.execute("kill -" .. (sig or "TERM") .. " " .. self.pid .. " 2>/dev/null")
  local ok, how, code = self.pipe:close()
  self.pipe = nil
  if self.admin then self.admin:close(); self.admin = nil end
  os.remove(self.log)
  if self.seed_file then os.remove(self.seed_file) end
  return ok, how, code
end

--- Starts zlock-emu (the options are those of `zlock.testing.emulator`).
-- @tparam[opt] table opts
-- @return the emulator object; raises when it does not start (the message has its stderr)
function M.start(opts)
  opts = opts or {}
  local bin, why = M.find(opts.bin)
  if not bin then error(why, 3) end
  local args, tmp = argv(opts)
  local log = os.tmpname()
  local parts = { "echo $$; exec", shell_quote(bin) }
  for _, a in ipairs(args) do parts[#parts + 1] = shell_quote(a) end
  parts[#parts + 1] = "2>" .. shell_quote(log) .. " </dev/null"
  local pipe = assert(io.popen(table.concat(parts, " "), "r"))
  local pid = pipe:read("*l")
  local line = pipe:read("*l")
  local url = line and line:match("^zlock%-emu listening on (http://127%.0%.0%.1:%d+)$")
  if not url then
    pipe:close()
    local f = io.open(log, "rb")
    local msg = f and f:read("*a") or ""
    if f then f:close() end
    os.remove(log)
    if tmp then os.remove(tmp) end
    msg = msg:gsub("%s+$", "")
    if tmp then msg = msg:gsub(tmp:gsub("%p", "%%%0"), "the seed table") end
    error("zlock-emu did not start: " .. msg, 3)
  end
  local self = setmetatable({ pid = tonumber(pid), pipe = pipe, url = url, log = log, seed_file = tmp,
                              access_token = opts.access_token or M.ACCESS_TOKEN, bin = bin }, Emu)
  -- Collected with the object: stops the process (on Lua 5.1 through a newproxy userdata).
  local function gc() pcall(halt, self) end
  if rawget(_G, "newproxy") then
    local sentinel = newproxy(true)   -- luacheck: ignore 113
    getmetatable(sentinel).__gc = gc
    self._sentinel = sentinel
  else
    self._sentinel = setmetatable({}, { __gc = gc })
  end
  return self
end

--- Whether the process still runs.
-- @treturn boolean
function Emu:running()
  if not self.pipe then return false end
  local f = io.open("/proc/" .. self.pid .. "/stat", "r")
  if not f then return succeeded("kill -0 " .. self.pid .. " 2>/dev/null") end
  local s = f:read("*a")
  f:close()
  return not s:match("^%d+ %b() Z")
end

--- Stops the emulator (SIGTERM, or `sig`) and waits for it; idempotent.
-- @tparam[opt] string sig a signal name, e.g. "KILL"
-- @return what `file:close()` of the process pipe returns (nil when already stopped)
function Emu:stop(sig)
  return halt(self, sig)
end

--- The emulator's stderr so far (it stays quiet unless `verbose` or on a fatal error).
-- @treturn string
function Emu:stderr()
  local f = io.open(self.log, "rb")
  if not f then return "" end
  local s = f:read("*a")
  f:close()
  return s
end

--- A zlock client pointed at the emulator, with `zlock.select` and `zlock.bulk` installed.
-- @tparam[opt] table opts more `zlock.new` options (override the defaults)
-- @return the client; raises when `zlock.new` refuses the options
function Emu:client(opts)
  local zlock = require "zlock"
  require("zlock.select").install(zlock.Client)
  require("zlock.bulk").install(zlock.Client)
  local o = { api_domain = self.url, access_token = self.access_token }
  for k, v in pairs(opts or {}) do o[k] = v end
  if o.access_token == false then o.access_token = nil end
  local c, err = zlock.new(o)
  if not c then error("zlock.new: " .. tostring(err), 2) end
  return c
end

-- One admin call (`/__emu/...`, no faults apply there) through a client of its own.
local function admin(self, method, path, body, query)
  if not self.pipe then error("the emulator is stopped", 3) end
  self.admin = self.admin or self:client()
  local res, status = self.admin:request(method, path, { body = body, query = query, idempotent = true })
  if not res then error("zlock-emu admin " .. path .. ": " .. tostring(status), 3) end
  if status ~= 200 then
    error("zlock-emu admin " .. path .. " answered " .. tostring(status) .. ": " .. tostring(cjson.encode(res)), 3)
  end
  return res
end

--- The admin state: `locks` (each `module`, `record_id`, `lock_id`, `source`, `reason`,
-- `locked_by`, `rule_id`, `config_id`, `locked_time`), `counts` by module and `records`
-- (module -> record id -> locked?).
-- @tparam[opt] string module only this module
-- @treturn table
function Emu:state(module)
  return admin(self, "GET", "/__emu/state", nil, module and { module = module } or nil)
end

--- Request statistics: `requests` by route and status, `total`, `in_flight`, `max_in_flight`,
-- `too_many_requests`, `drops`, `faults_500`, ...
-- @treturn table
function Emu:stats()
  return admin(self, "GET", "/__emu/stats")
end

--- Zoho API requests the emulator has answered since start or reset, any status (its admin
-- calls aside); `route` (e.g. "locks.lock", "locks.unlock") counts one route only. A dry run makes no
-- `locks.lock`; a rehearsal makes no call at all to the org it copied.
-- @tparam[opt] string route
-- @treturn integer
function Emu:api_calls(route)
  local n = 0
  for r, by_status in pairs(self:stats().requests) do
    if r ~= "admin" and (route == nil or r == route) then
      for _, count in pairs(by_status) do n = n + count end
    end
  end
  return n
end

--- Changes fault and limit settings (`latency_ms`, `jitter_ms`, `concurrency_limit`, `credits`,
-- `fail_rate`, `drop_rate`, `drop_mode`, `locking_feature`, `revoke_tokens`, ...).
-- @tparam table t
-- @treturn table the settings now in force
function Emu:faults(t)
  return admin(self, "POST", "/__emu/faults", t)
end

--- Back to the seeded org; settings, credits, tokens and statistics as at start.
-- @treturn table
function Emu:reset()
  return admin(self, "POST", "/__emu/reset", "{}")
end

return M
