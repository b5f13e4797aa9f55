--- The cqueues transport: drives the core's calls with lua-http on cqueues, for Lua servers
-- built on cqueues (lua-http's own server, Lua servers that run a `cqueues.new()` loop).
--
-- Inside a coroutine that a cqueues controller runs, `zlock.new{}` picks it by itself (or
-- `transport = "cqueues"`): each `send` step goes out through lua-http's client
-- (`http.request`), backoffs sleep with `cqueues.sleep`, and both yield to the controller, so
-- other coroutines run while a call waits. Outside a controller the same code blocks, like
-- any cqueues socket.
--
-- * TLS: lua-http's client context, which verifies the peer against the system's CAs
--   (`ca_file` adds a bundle); plain http only to loopback (the core refuses the rest).
-- * The request is never re-sent by this transport: redirects are not followed, and lua-http
--   retries nothing on its own.
-- * Access tokens and the fleet budget: with `redis_url` (or `ZLOCK_REDIS_URL`), token
--   refreshes go through the Redis token store and every API request takes a slot of the org's
--   budget (`zlock.budget`), shared with every zlock process and host on that Redis, over
--   cqueues sockets (`zlock.cqueues_redis`: they yield too). Without it each client refreshes
--   its own token and takes no slot. `token_store = "none"` keeps tokens out of Redis,
--   `org_budget = false` the budget. Redis failing: one warning on stderr for each, then the
--   client's own token, calls without slots.
-- * Needs `lua-http` (Debian: `lua-http`, for Lua 5.1 to 5.3 and LuaJIT; elsewhere
--   `luarocks install http`), which brings cqueues and luaossl.
-- @module zlock.cqueues
local options = require "zlock.options"
local token_store = require "zlock.token_store"

local M = {}

local Transport = {}
Transport.__index = Transport

local function cq_running()
  local ok, cqueues = pcall(require, "cqueues")
  if not ok or type(cqueues) ~= "table" or type(cqueues.running) ~= "function" then return nil end
  return cqueues.running()
end

--- Whether zlock runs inside a coroutine that a cqueues controller runs (and lua-http is there).
-- @treturn boolean
function M.usable()
  if not package.loaded.cqueues or not cq_running() then return false end
  return (pcall(require, "http.request"))
end

local send_token

--- Creates the transport.
-- @tparam[opt] table opts `zlock.new`'s options (checked; defaults: `zlock.options`); read here:
--   `timeout`, `connect_timeout`, `max_response_bytes`, `ca_file`, `user_agent`, `redis_url`
--   (tokens and the fleet budget through Redis), `token_store` (`"none"`: no tokens in
--   Redis), `refresh_lock_ttl`
-- @return the transport; raises `bad argument` without lua-http or for a `redis_url` it cannot use
function M.new(opts)
  opts = opts or {}
  local ok, request = pcall(require, "http.request")
  if not ok then
    error("bad argument #1 to 'new' (transport 'cqueues' needs lua-http: " .. tostring(request) .. ")", 4)
  end
  local self = setmetatable({
    request = request, cqueues = require("cqueues"),
    timeout_ms = options.ms(opts, "timeout"),
    max_response_bytes = opts.max_response_bytes or options.default("new", "max_response_bytes"),
    user_agent = opts.user_agent or options.default("new", "user_agent"),
    name = "cqueues",
  }, Transport)
  if opts.ca_file then
    local ctx = require("http.tls").new_client_context()
    ctx:getStore():add(opts.ca_file)
    self.ctx = ctx
  end
  if opts.redis_url ~= nil then
    local link, err = require("zlock.cqueues_redis").new(opts.redis_url, { timeout_ms = self.timeout_ms,
      connect_timeout_ms = options.ms(opts, "connect_timeout"), ca_file = opts.ca_file })
    if not link then error("bad argument #1 to 'new' (" .. err .. ")", 4) end
    self.link = link   -- the fleet budget's (zlock.budget), unless org_budget = false
    if opts.token_store ~= "none" then   -- "none": the user's opt-out
      self.send_token = send_token
      -- the lock must outlive one refresh request (its timeout), or a second process would start one
      self.lock_ttl = opts.refresh_lock_ttl or (self.timeout_ms / 1000 + 5)
    end
  end
  return self
end

local ERRNO_TERR = { ECONNREFUSED = "connect", EHOSTUNREACH = "connect", ENETUNREACH = "connect",
                     ETIMEDOUT = "timeout", ECONNRESET = "closed", EPIPE = "closed" }

-- lua-http / cqueues failure -> core transport error name (unknown: "closed", which the core
-- treats as "may have been applied": a lock is then reconciled, never sent twice blindly).
local function terr(err, errno)
  local name = errno and require("cqueues.errno")[errno]
  if name and ERRNO_TERR[name] then return ERRNO_TERR[name] end
  local msg = tostring(err):lower()
  if msg:find("certificate", 1, true) or msg:find("ssl", 1, true) or msg:find("tls", 1, true) then return "tls" end
  if msg:find("refused", 1, true) or msg:find("resolve", 1, true) or msg:find("no address", 1, true) then
    return "connect"
  end
  if msg:find("timed out", 1, true) or msg:find("timeout", 1, true) then return "timeout" end
  return "closed"
end

--- Performs a SEND step.
-- @tparam table step the core's step (`method`, `url`, `headers` as {Name = value}, `body`)
-- @return status, body, errcode (nil when a reply arrived), credits (X-API-CREDITS-REMAINING)
function Transport:send(step)
  local req = self.request.new_from_uri(step.url)
  req.follow_redirects = false
  if self.ctx then req.ctx = self.ctx end
  local h = req.headers
  h:upsert(":method", step.method)
  h:upsert("user-agent", self.user_agent)
  for k, v in pairs(step.headers or {}) do h:upsert(k:lower(), v) end
  if step.body then
    req:set_body(step.body)
    h:delete("expect")   -- Zoho needs no 100-continue round trip
  end
  local headers, stream, errno = req:go(self.timeout_ms / 1000)
  if not headers then return 0, "", terr(stream, errno) end
  local body, err, errno2 = stream:get_body_as_string(self.timeout_ms / 1000)
  if not body then return 0, "", terr(err, errno2) end
  stream:shutdown()
  if #body > self.max_response_bytes then return 0, "", "too_large" end
  local status, credits = headers:get(":status"), headers:get("x-api-credits-remaining")   -- nil when absent
  return tonumber(status), body, nil, credits and tonumber(credits)
end

--- Backs off, yielding to the controller.
-- @tparam number wait_ms
function Transport:sleep(wait_ms)
  self.cqueues.sleep((wait_ms or 0) / 1000)
end

--- Another coroutine of this client refreshes the token: yield a moment, then step again.
function Transport:wait_token()
  self.cqueues.sleep(0.005)
end

-- This process's id (Linux: /proc/self/stat; else luaposix; else none).
local function pid()
  local f = io.open("/proc/self/stat")
  local id = f and f:read("*l"):match("^%d+")
  if f then f:close() end
  if id then return id end
  local ok, unistd = pcall(require, "posix.unistd")
  return ok and type(unistd) == "table" and unistd.getpid and tostring(unistd.getpid()) or "?"
end

-- A name for this process and transport, unique among the holders of one Redis.
function Transport:holder(sep)
  if not self.holder_name then
    self.holder_name = table.concat({ pid(), tostring(self):match("0x%x+") or tostring(math.random(2 ^ 30)),
      ("%.6f"):format(require("zlock.cqueues_redis").now()) }, sep)
  end
  return self.holder_name
end

--- Redis for the fleet budget (`zlock.budget`): a client of `redis_url` over cqueues sockets
-- (this transport's pool), and a name unique to this process and transport.
-- @tparam number ms the longest a connect or a reply may take
-- @return the Redis client and the holder name, or nil without `redis_url`
function Transport:budget_redis(ms)
  if not self.link then return nil end
  return self.link:client{ timeout_ms = ms, connect_timeout_ms = ms },
    "cqueues:" .. self:holder(":")
end

--- Writes a warning on stderr, one line (the token store's and the fleet budget's, when Redis
-- fails; they name `host:port`, never the password).
-- @tparam string msg
function Transport:warn(msg) -- luacheck: no self
  io.stderr:write("zlock: warning: ", (tostring(msg):gsub("[\r\n]+", " ")), "\n")
end

-- Satisfies a token-request step through Redis (with `redis_url` only): reuses a token another
-- process stored, or refreshes, one process at a time (`zlock.token_store.refresh`).
function send_token(self, call, step, core_client)
  if not self.store then self.store = self.link:store(core_client:token_store_key(), self:holder("-")) end
  token_store.refresh(self.store, call, step, core_client, function(s) return self:send(s) end,
    require("zlock.cqueues_redis").env(self.lock_ttl, function(msg) self:warn(msg) end))
end

return M
