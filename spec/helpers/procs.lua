--- Test helper: runs `bin/zlock` as separate processes (sequential or all at once) with a
-- given environment, and makes fresh HOME directories.
local M = {}

M.ZLOCK = os.getenv("ZLOCK_BIN") or "bin/zlock"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
M.quote = q

--- A fresh directory (removed by `M.rm`).
function M.tmpdir()
  local p = os.tmpname()
  os.remove(p)
  assert(os.execute("mkdir -m 700 " .. q(p)))
  return p
end

function M.rm(dir) os.execute("rm -rf " .. q(dir)) end

--- How many times the plain string `s` occurs in `text`.
function M.count(text, s)
  local n, at = 0, 1
  while true do
    local i = text:find(s, at, true)
    if not i then return n end
    n, at = n + 1, i + #s
  end
end

--- A file's whole text, or nil when it cannot be read.
function M.slurp(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function env_prefix(env)
  local keys = {}
  for k in pairs(env) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = { "env -u ZOHO_ACCESS_TOKEN -u ZLOCK_REDIS_URL -u XDG_CACHE_HOME -u ZLOCK_PROFILE" }
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. q(env[k]) end
  return table.concat(parts, " ")
end

--- Runs `n` zlock processes with `args` (a list), `parallel` or one after the other.
-- Returns the number that exited 0 and the concatenated stderr of the others.
function M.run(env, args, n, parallel)
  local out = os.tmpname()
  local qa = {}
  for i, a in ipairs(args) do qa[i] = q(a) end
  local cmd = env_prefix(env) .. " " .. q(M.ZLOCK) .. " " .. table.concat(qa, " ")
  local script = string.format([[
ok=0; dir=$(mktemp -d)
for i in $(seq %d); do
  if [ %s = 1 ]; then ( %s >/dev/null 2>"$dir/$i.err"; echo $? >"$dir/$i.rc" ) &
  else %s >/dev/null 2>"$dir/$i.err"; echo $? >"$dir/$i.rc"; fi
done
wait
for i in $(seq %d); do
  if [ "$(cat "$dir/$i.rc")" = 0 ]; then ok=$((ok+1)); else cat "$dir/$i.err"; fi
done
rm -rf "$dir"; echo "ok=$ok"]], n, parallel and "1" or "0", cmd, cmd, n)
  local p = assert(io.popen(script .. " >" .. q(out) .. " 2>&1", "r"))
  p:close()
  local f = assert(io.open(out)); local s = f:read("*a"); f:close(); os.remove(out)
  local ok = tonumber(s:match("ok=(%d+)%s*$"))
  return ok, (s:gsub("ok=%d+%s*$", ""))
end

--- Runs one shell command; returns its output (stdout and stderr) and exit status.
function M.sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1; echo \"rc=$?\"", "r"))
  local s = p:read("*a"); p:close()
  local rc = tonumber(s:match("rc=(%d+)%s*$"))
  return (s:gsub("rc=%d+%s*$", "")), rc
end

return M
