--- Shared helpers of the bulk and CLI specs: a zlock client on a zlock-emu, the `zlock`
-- command run as a real process, the emulator's state as sets. (Not a spec: no `_spec` suffix.)
local emu = require "helpers.emu"
local cjson = require "cjson.safe"

local S = {}

S.ROOT = os.getenv("PWD") or "."

--- Starts an emulator (demo org unless `args` says otherwise).
function S.start(args)
  local a = { "--seed", "demo" }
  for _, x in ipairs(args or {}) do a[#a + 1] = x end
  return emu.start(a)
end

--- The emulator's URL for zlock (plain http: loopback only).
function S.url(e)
  return e.url
end

--- A zlock client on emulator `e` with the selection and bulk methods installed.
function S.client(e, opts)
  return e:client(opts)   -- access_token = false: the refresh flow only
end

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
S.quote = q

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("*a")
  f:close()
  return s
end
S.slurp = slurp

--- The number of item lines (entries) of journal `path` (0 when it does not exist).
function S.lines(path)
  local n = 0
  for line in slurp(path):gmatch("([^\n]*)\n") do
    if line:find('"key":', 1, true) then n = n + 1 end   -- not the line naming the policy
  end
  return n
end

--- The environment prefix that points the `zlock` command at emulator `e`.
function S.env(e, extra)
  local parts = { "env -u ZOHO_REFRESH_TOKEN -u ZOHO_CLIENT_ID -u ZOHO_CLIENT_SECRET -u ZOHO_DC",
                  "ZOHO_API_DOMAIN=" .. q(S.url(e)), "ZOHO_ACCESS_TOKEN=" .. q(emu.ACCESS_TOKEN) }
  for k, v in pairs(extra or {}) do parts[#parts + 1] = k .. "=" .. q(v) end
  return table.concat(parts, " ")
end

--- Runs `bin/zlock ARGS...` against emulator `e` (nil: no org configured at all).
-- @return stdout, exit status, stderr
function S.zlock(e, args, env)
  local errf = os.tmpname()
  local parts = { e and S.env(e, env) or "env -u ZOHO_API_DOMAIN -u ZOHO_ACCESS_TOKEN -u ZOHO_REFRESH_TOKEN "
    .. "-u ZOHO_CLIENT_ID -u ZOHO_CLIENT_SECRET -u ZOHO_DC", "bin/zlock" }
  for _, a in ipairs(args) do parts[#parts + 1] = q(a) end
  parts[#parts + 1] = "2>" .. q(errf) .. " </dev/null"
  local p = assert(io.popen(table.concat(parts, " "), "r"))
  local out = p:read("*a")
  local _, _, code = p:close()
  local err = slurp(errf)
  os.remove(errf)
  return out, code, err
end

--- Runs `bin/zlock ... --json` and decodes stdout.
function S.zlock_json(e, args, env)
  local a = { "--json" }
  for _, x in ipairs(args) do a[#a + 1] = x end
  local out, code, err = S.zlock(e, a, env)
  return cjson.decode(out), code, err, out
end

--- Starts `bin/zlock ARGS...` in the background; returns `{pid=, out=, err=}` (files).
function S.spawn(e, args, env)
  local outf, errf = os.tmpname(), os.tmpname()
  local parts = { "sh -c", q("echo $$; exec " .. S.env(e, env) .. " bin/zlock " ..
    table.concat((function() local t = {} for i, a in ipairs(args) do t[i] = q(a) end return t end)(), " ")
    .. " >" .. q(outf) .. " 2>" .. q(errf) .. " </dev/null") .. " &" }
  local p = assert(io.popen("(" .. table.concat(parts, " ") .. ")", "r"))
  local pid = tonumber(p:read("*l"))
  p:close()
  return { pid = pid, out = outf, err = errf }
end

--- Whether process `pid` still runs (and is not a zombie).
function S.alive(pid)
  local f = io.open("/proc/" .. pid .. "/stat", "r")
  if not f then return false end
  local s = f:read("*a")
  f:close()
  return not s:match("^%d+ %b() Z")
end

--- Sleeps `s` seconds (LuaSocket).
function S.sleep(s)
  require("socket").sleep(s)
end

--- Waits until `pred()` is true (polling every 20 ms, at most `timeout` seconds).
function S.wait_for(pred, timeout)
  local socket = require "socket"
  local deadline = socket.gettime() + (timeout or 30)
  while socket.gettime() < deadline do
    if pred() then return true end
    socket.sleep(0.02)
  end
  return pred()
end

--- Locks in the emulator's state: a list, and a map record_id -> list of locks.
function S.locks(e)
  local st = e:state()
  return st.locks, require("zlock.testing").locks_by_record(st), st
end

--- Number of requests the emulator answered on a stats route (e.g. "lock_create"), any status.
function S.route_count(e, route)
  local st = e:stats()
  local r = st.requests and st.requests[route]
  if type(r) == "number" then return r end
  local n = 0
  if type(r) == "table" then
    for _, v in pairs(r) do if type(v) == "number" then n = n + v end end
  end
  return n
end

--- Every record of a module with the given fields, straight from the emulator's record list.
function S.records(e, module, fields)
  local out, token, page = {}, nil, 1
  while true do
    local path = ("/crm/v8/%s?fields=%s&per_page=200"):format(module, fields)
    path = path .. (token and ("&page_token=" .. token) or ("&page=" .. page))
    local res = assert(e:req("GET", path))
    if res.status == 204 then break end
    assert(res.status == 200, "records list answered " .. res.status .. ": " .. res.body:sub(1, 200))
    for _, r in ipairs(res.json.data) do out[#out + 1] = r end
    local info = res.json.info or {}
    if info.more_records ~= true then break end
    if info.next_page_token and info.next_page_token ~= cjson.null then token = info.next_page_token
    else page = page + 1 end
  end
  return out
end

--- Ids of unlocked records of `module` (from the emulator's state), sorted, at most `n`.
function S.unlocked(e, module, n)
  local ids = {}
  for id, locked in pairs(e:state().records[module] or {}) do
    if locked ~= true then ids[#ids + 1] = id end
  end
  table.sort(ids)
  if n then
    local t = {}
    for i = 1, math.min(n, #ids) do t[i] = ids[i] end
    ids = t
  end
  return ids
end

--- Whole days between `date` ("YYYY-MM-DD" or ISO date-time) and now, as a policy sees them.
function S.days_since(date)
  return require("zlock.policy").context().days_since(date)
end

--- Writes `text` to file `path` (replacing it).
function S.write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

--- Runs a shell command; returns its exit status and its output (stdout and stderr).
function S.sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local text = p:read("*a")
  local _, _, code = p:close()
  return code, text
end

--- Makes a fresh temporary directory; returns its name (remove it with `rm -rf`).
function S.tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(os.execute("mkdir -p " .. S.quote(d)))
  return d
end

--- Writes `text` to a fresh temporary file; returns its name.
function S.tmpfile(text, suffix)
  local name = os.tmpname() .. (suffix or "")
  S.write(name, text or "")
  return name
end

--- Set of values of `key` in a list.
function S.set(list, key)
  local s = {}
  for _, x in ipairs(list) do s[key and x[key] or x] = true end
  return s
end

function S.count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

return S
