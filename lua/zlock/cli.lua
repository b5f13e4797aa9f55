--- The `zlock` command: run policies, the four operations, and a lock audit from a shell.
--
--     zlock run POLICY.lua [--dry-run] [--concurrency N] [--journal FILE] [--param NAME=VALUE]...
--     zlock get    MODULE RECORD_ID [LOCK_ID]
--     zlock lock   MODULE RECORD_ID --reason TEXT
--     zlock update MODULE RECORD_ID LOCK_ID --reason TEXT
--     zlock unlock MODULE RECORD_ID [LOCK_ID]
--     zlock locks  [MODULE] [--long]
--
-- Global options: `--json` (machine output on stdout), `--api-domain URL`, `--dc DC`,
-- `--help`. Configuration otherwise comes from the environment (`ZOHO_ACCESS_TOKEN`,
-- `ZOHO_REFRESH_TOKEN`, `ZOHO_CLIENT_ID`, `ZOHO_CLIENT_SECRET`, `ZOHO_DC`, `ZOHO_API_DOMAIN`,
-- `ZOHO_ACCOUNTS_DOMAIN`, `ZOHO_API_VERSION`). Exit status: 0 all done, 1 something failed,
-- 2 usage error.
-- @module zlock.cli
local cjson = require "cjson.safe"
-- loaded on use: `zlock --help` and `zlock run` need none of it
local audit = setmetatable({}, { __index = function(t, k)
  local m = require "zlock.audit"
  setmetatable(t, { __index = m })
  return m[k]
end })

local M = {}

M.USAGE = [[
Usage: zlock [--json] [--api-domain URL] [--dc DC] COMMAND ...

Commands:
  run POLICY.lua     run a bulk lock policy (a Lua file: see examples/)
      --dry-run        print the plan (record, action, why); change nothing
      --concurrency N  calls in flight at most (default 10, or the policy's)
      --journal FILE   record finished items; a rerun with the same FILE resumes
      --param NAME=VALUE  set a policy parameter (also: environment ZLOCK_<NAME>)
      --no-progress    no progress bar (it is only drawn on a terminal anyway)
  get MODULE RECORD_ID [LOCK_ID]      show a record's locks (or one lock)
  lock MODULE RECORD_ID --reason TEXT lock a record
  update MODULE RECORD_ID LOCK_ID --reason TEXT   change a lock's reason
  unlock MODULE RECORD_ID [LOCK_ID]   remove a lock (without LOCK_ID: the manual lock)
  locks [MODULE] [--long]             audit: every lock, by module, source and age
                                      (--long: one line per lock; costs ~1 call per locked record)
  auth [...] / auth status            save a refresh token from a grant code; show what is
                                      in use (zlock auth --help)

Options:
  --json             machine-readable JSON on stdout
  --api-domain URL   e.g. https://www.zohoapis.eu, or http://127.0.0.1:PORT for zlock-emu
  --dc DC            data centre: us eu in au jp cn ca sa
  --profile NAME     credentials profile (~/.config/zlock/credentials; also ZLOCK_PROFILE)
  -h, --help         this text

Environment: ZOHO_ACCESS_TOKEN, or ZOHO_CLIENT_ID + ZOHO_CLIENT_SECRET + ZOHO_REFRESH_TOKEN;
  ZOHO_DC, ZOHO_ENV, ZOHO_API_DOMAIN, ZOHO_ACCOUNTS_DOMAIN, ZOHO_API_VERSION (default v8);
  ZLOCK_PROFILE, ZLOCK_REDIS_URL (share tokens across hosts), ZLOCK_TOKEN_STORE (file|redis|none).
Exit status: 0 all done, 1 some item or the call failed, 2 usage error.
]]

-- Options that take a value, and flags.
local VALUE_OPTS = { ["--api-domain"] = "api_domain", ["--dc"] = "dc", ["--concurrency"] = "concurrency",
                     ["--profile"] = "profile",
                     ["--journal"] = "journal", ["--reason"] = "reason", ["--param"] = "param" }
local FLAGS = { ["--json"] = "json", ["--dry-run"] = "dry_run", ["--long"] = "long", ["--help"] = "help",
                ["-h"] = "help", ["--no-progress"] = "no_progress" }

--- Parses arguments into `{command=, args={...}, opts={...}}`, or nil and a usage message.
-- @tparam table argv
-- @treturn table|nil
-- @treturn string|nil
function M.parse(argv)
  local opts, pos, params = {}, {}, {}
  local i = 1
  while i <= #argv do
    local a = argv[i]
    local name, inline = a:match("^(%-%-[%w%-]+)=(.*)$")
    name = name or a
    if a == "--" then
      for j = i + 1, #argv do pos[#pos + 1] = argv[j] end
      break
    elseif VALUE_OPTS[name] then
      local v = inline
      if v == nil then
        i = i + 1
        v = argv[i]
        if v == nil then return nil, name .. " needs a value" end
      end
      if VALUE_OPTS[name] == "param" then
        local k, val = v:match("^([%w_]+)=(.*)$")
        if not k then return nil, "--param expects NAME=VALUE, got " .. v end
        params[k] = val
      else
        opts[VALUE_OPTS[name]] = v
      end
    elseif FLAGS[a] then
      opts[FLAGS[a]] = true
    elseif a:match("^%-") and a ~= "-" then
      return nil, "unknown option " .. a
    else
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  if opts.concurrency then
    local n = tonumber(opts.concurrency)
    local why = require("zlock.options").why("bulk", "concurrency", n or opts.concurrency)
    if why then return nil, "--" .. why end
    opts.concurrency = n
  end
  opts.params = params
  local cmd = table.remove(pos, 1)
  return { command = cmd, args = pos, opts = opts }
end

-- ------------------------------------------------------------------ output helpers

local function out(...) io.stdout:write(...) end

--- Width tables are cut to: `COLUMNS` when set, else the terminal's columns when stdout is a
-- terminal, else no limit.
-- @treturn number
function M.width()
  if M._width then return M._width end
  local progress = require "zlock.progress"
  M._width = math.huge
  local n = tonumber(os.getenv("COLUMNS") or "")
  if n and n >= 40 then M._width = n; return n end
  if progress.isatty(1) then
    if not n then
      local p = io.popen("stty size </dev/tty 2>/dev/null")
      if p then n = tonumber((p:read("*a") or ""):match("%d+%s+(%d+)")); p:close() end
    end
    M._width = (n and n >= 40) and n or 100
  end
  return M._width
end

local function json_value(v, depth)
  depth = depth or 0
  if type(v) == "table" then
    if depth > 8 then return nil end
    local t = {}
    for k, x in pairs(v) do
      if type(k) == "string" or type(k) == "number" then t[k] = json_value(x, depth + 1) end
    end
    if next(t) == nil and #v == 0 and getmetatable(v) == nil then return cjson.empty_array or t end
    return t
  elseif type(v) == "function" then
    return nil
  end
  return v
end

local function print_json(v)
  local s = cjson.encode(json_value(v))
  out(s or "null", "\n")
end

--- Formats rows as an aligned table (`cols` = list of `{title, key}`); the last column is cut
-- to `width` columns.
-- @tparam table cols
-- @tparam table rows
-- @tparam[opt=120] integer width
-- @treturn string
function M.table(cols, rows, width)
  width = width or M.width()
  local w = {}
  for i, c in ipairs(cols) do
    w[i] = #c[1]
    for _, r in ipairs(rows) do
      local s = tostring(r[c[2]] or "")
      if utf8 and utf8.len(s) then w[i] = math.max(w[i], utf8.len(s)) else w[i] = math.max(w[i], #s) end
    end
  end
  local function line(vals)
    local parts, used = {}, 0
    for i, v in ipairs(vals) do
      local s = tostring(v or "")
      local len = (utf8 and utf8.len(s)) or #s
      if i < #vals then
        local right = cols[i].align == "right"
        parts[i] = right and ((" "):rep(w[i] - len) .. s) or (s .. (" "):rep(w[i] - len))
        used = used + w[i] + 2
      else
        local room = math.max(width - used, 10)
        if len > room then
          s = (utf8 and utf8.offset and s:sub(1, (utf8.offset(s, room) or room + 1) - 1) or s:sub(1, room - 1)) .. "…"
        end
        parts[i] = s
      end
    end
    return (table.concat(parts, "  "):gsub("%s+$", ""))
  end
  local head = {}
  for i, c in ipairs(cols) do head[i] = c[1] end
  local lines = { line(head) }
  for _, r in ipairs(rows) do
    local vals = {}
    for i, c in ipairs(cols) do vals[i] = r[c[2]] end
    lines[#lines + 1] = line(vals)
  end
  return table.concat(lines, "\n") .. "\n"
end

local function fail(opts, what, err)
  if opts.json then
    print_json{ error = { code = err.code, message = err.message, http_status = err.http_status,
                          details = err.details } }
  end
  io.stderr:write("zlock: ", what, " failed: ", tostring(err), "\n")
  return 1
end

local function usage_error(msg)
  io.stderr:write("zlock: ", msg, "\n", "Try 'zlock --help'.\n")
  return 2
end

local function client(opts)
  local zlock = require "zlock"
  require("zlock.select").install(zlock.Client)
  require("zlock.bulk").install(zlock.Client)
  local p, err = require("zlock.credentials").profile(opts.profile)
  if not p and err then return nil, err end
  p = p or {}
  p.api_domain, p.dc = opts.api_domain or p.api_domain, opts.dc or p.dc
  return zlock.new(zlock.env_options(p))
end

local ID_OPS = {}

function ID_OPS.get(c, a, opts)
  local module, rid, lid = a[1], a[2], a[3]
  local res, err = c:get(module, rid, lid)
  if not res then return fail(opts, "get " .. module .. "/" .. rid, err) end
  if opts.json then print_json(res); return 0 end
  if lid then
    local keys = {}
    for k in pairs(res) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do
      local v = res[k]
      if type(v) == "table" then v = cjson.encode(json_value(v)) end
      if type(v) == "userdata" then v = "null" end
      out(("%-36s %s\n"):format(k, tostring(v)))
    end
    return 0
  end
  if #res == 0 then out(module, "/", rid, " is not locked\n"); return 0 end
  local rows = {}
  for _, l in ipairs(res) do rows[#rows + 1] = audit.row(l) end
  out(M.table({ { "LOCK ID", "id" }, { "SOURCE", "source" }, { "AGE", "age", align = "right" },
                { "LOCKED BY", "by" }, { "REASON", "reason" } }, rows))
  return 0
end

function ID_OPS.lock(c, a, opts)
  if not opts.reason then return usage_error("lock needs --reason TEXT") end
  local res, err = c:lock(a[1], a[2], opts.reason)
  if not res then return fail(opts, "lock " .. a[1] .. "/" .. a[2], err) end
  if opts.json then print_json(res); return 0 end
  out(("locked %s/%s: lock %s%s\n"):format(a[1], a[2], tostring(res.id),
    res.reconciled and " (found after a lost reply)" or ""))
  return 0
end

function ID_OPS.update(c, a, opts)
  if not a[3] then return usage_error("update needs MODULE RECORD_ID LOCK_ID --reason TEXT") end
  if not opts.reason then return usage_error("update needs --reason TEXT") end
  local res, err = c:update(a[1], a[2], a[3], opts.reason)
  if not res then return fail(opts, "update " .. a[1] .. "/" .. a[2], err) end
  if opts.json then print_json(res); return 0 end
  out(("updated lock %s of %s/%s\n"):format(a[3], a[1], a[2]))
  return 0
end

function ID_OPS.unlock(c, a, opts)
  local res, err = c:unlock(a[1], a[2], a[3])
  if not res then return fail(opts, "unlock " .. a[1] .. "/" .. a[2], err) end
  if opts.json then print_json(res); return 0 end
  out(("unlocked %s/%s: lock %s removed\n"):format(a[1], a[2], tostring(res.id)))
  return 0
end

local function cmd_locks(c, a, opts)
  local rows, all = {}, {}
  local now = os.time()
  local ok, err = pcall(function()
    for l in c:locks(a[1]) do
      all[#all + 1] = l
      rows[#rows + 1] = audit.row(l, now)
    end
  end)
  if not ok then
    return fail(opts, "locks", require("zlock.error").from(err))
  end
  if opts.json then
    local list = {}
    for i, l in ipairs(all) do
      list[i] = { module = l.module, record_id = l.record_id, lock_id = l.id, source = l.Lock_Source__s,
                  reason = rows[i].reason ~= "" and rows[i].reason or nil, locked_time = l.Locked_Time__s,
                  locked_by = rows[i].by ~= "" and rows[i].by or nil, record_name = rows[i].name,
                  age_days = tonumber((rows[i].age or ""):match("^(%d+)")) }
    end
    print_json(list)
    return 0
  end
  if #rows == 0 then out("no locks", a[1] and (" in " .. a[1]) or "", "\n"); return 0 end
  if opts.long then
    table.sort(rows, function(x, y)
      if x.module ~= y.module then return x.module < y.module end
      if x.source ~= y.source then return x.source < y.source end
      return (x.time or "") < (y.time or "")
    end)
    out(M.table({ { "MODULE", "module" }, { "RECORD", "record_id" }, { "NAME", "name" }, { "SOURCE", "source" },
                  { "AGE", "age", align = "right" }, { "LOCKED BY", "by" }, { "REASON", "reason" } }, rows))
    return 0
  end
  local cols = { { "MODULE", "module" }, { "SOURCE", "source" }, { "LOCKS", "locks", align = "right" } }
  for _, b in ipairs(audit.BUCKETS) do cols[#cols + 1] = { b[1], b[1], align = "right" } end
  cols[#cols + 1] = { "OLDEST", "oldest", align = "right" }
  out(M.table(cols, audit.groups(rows)))
  out(("%d lock%s in all\n"):format(#rows, #rows == 1 and "" or "s"))
  return 0
end

local OUTCOME_ORDER = { "locked", "already_locked", "updated", "unlocked", "already_unlocked", "got",
                        "planned", "skipped", "failed" }
local OUTCOME_TEXT = { locked = "locked", already_locked = "already locked (left as is)",
                       updated = "reason updated", unlocked = "unlocked", already_unlocked = "already unlocked",
                       got = "read", planned = "planned (dry run)", skipped = "skipped (done, per journal)",
                       failed = "failed" }

local function print_summary(p, s, opts, params)
  local out = out -- luacheck: ignore 431
  if p.action == "report" and (params.out == nil or params.out == "" or params.out == "-") then
    out = function(...) io.stderr:write(...) end   -- stdout carries the report itself
  end
  out("\n")
  out(("Policy: %s%s\n"):format(p.name or p.action, s.dry_run and p.action ~= "report" and "  (dry run)" or ""))
  out(("  %d record%s selected, %d matched\n"):format(s.selected, s.selected == 1 and "" or "s", s.matched))
  if p.action == "report" then
    out(("  %d row%s written\n"):format(s.reported or 0, s.reported == 1 and "" or "s"))
  end
  for _, k in ipairs(OUTCOME_ORDER) do
    local n = s.counts[k]
    if n and n > 0 and not (p.action == "report" and k == "planned") then
      out(("  %-30s %6d\n"):format(OUTCOME_TEXT[k], n))
    end
  end
  if (s.reconciled or 0) > 0 then
    out(("  (%d found already done by an earlier, interrupted call)\n"):format(s.reconciled))
  end
  if not s.dry_run then
    local worked = s.done - s.skipped
    if worked > 0 then
      out(("  took %.1f s (%.1f items/s, %s engine, concurrency %s)\n"):format(s.elapsed, s.rate,
        s.engine.engine or "C", tostring(s.engine.max or s.engine.concurrency)))
    end
    if opts.journal then out("  journal: ", opts.journal, "\n") end
  end
  -- after a halt, the items that failed with the halting error are one line, not thousands
  local listed, halted_n = s.failures, 0
  if s.halted then
    listed = {}
    for _, f in ipairs(s.failures) do
      if f.code == s.halted.code then halted_n = halted_n + 1 else listed[#listed + 1] = f end
    end
    out(("Stopped sending after %s: %s\n"):format(s.halted.code, tostring(s.halted.message)))
    out(("  %d item%s failed with it (listed with --json)\n"):format(halted_n, halted_n == 1 and "" or "s"))
    if opts.journal then out("  rerun with the same --journal later: it resumes with what was not done\n") end
  end
  if #listed > 0 then
    out(s.halted and "Other failures:\n" or "Failures:\n")
    for i, f in ipairs(listed) do
      if i > 50 then out(("  ... and %d more (use --json)\n"):format(#listed - 50)); break end
      out(("  %s %s/%s: %s\n"):format(f.op, f.module, f.record_id, tostring(f.err or f.message)))
    end
  end
end

-- Loads and checks the policy and its parameters (before any client exists): p, params or
-- nil and the exit status.
local function load_policy(a, opts)
  local policy = require "zlock.policy"
  local path = a[1]
  if not path then return nil, usage_error("run needs a POLICY.lua file") end
  if a[2] then return nil, usage_error("run takes one policy file, got also " .. a[2]) end
  local p, perr = policy.load(path)
  if not p then io.stderr:write("zlock: ", perr, "\n"); return nil, 2 end
  local params, e = policy.params(p, opts.params)
  if not params then io.stderr:write("zlock: ", e, "\n"); return nil, 2 end
  return p, params
end

local function cmd_run(c, p, params, opts)
  local policy = require "zlock.policy"
  local plan = {}
  local dry = opts.dry_run and true or false
  local show_plan = dry and p.action ~= "report"
  local s, rerr = policy.run(c, p, {
    params = params, dry_run = dry, concurrency = opts.concurrency, journal = opts.journal,
    progress = not opts.no_progress and not show_plan and not opts.json and p.action ~= "report",
    on_result = show_plan and function(item)
      plan[#plan + 1] = { action = item.op, module = item.module, record_id = item.record_id,
                          lock_id = item.lock_id, name = item.name, why = item.why, outcome = item.outcome,
                          reason = item.reason }
    end or nil,
  })
  if not s then io.stderr:write("zlock: ", tostring(rerr), "\n"); return 2 end
  if opts.json then
    local fails = {}
    for i, f in ipairs(s.failures) do
      fails[i] = { op = f.op, module = f.module, record_id = f.record_id, lock_id = f.lock_id, code = f.code,
                   message = f.message, http_status = type(f.err) == "table" and f.err.http_status or nil }
    end
    local to_stdout = not (p.action == "report" and (params.out == nil or params.out == "" or params.out == "-"))
    local emit = to_stdout and print_json or function(v)   -- stdout carries the report itself
      io.stderr:write(cjson.encode(json_value(v)) or "null", "\n")
    end
    emit{ policy = p.name, action = p.action, dry_run = dry, selected = s.selected, matched = s.matched,
                counts = s.counts, failures = fails, elapsed = s.elapsed, rate = s.rate, engine = s.engine,
                reconciled = s.reconciled, halted = s.halted and { code = s.halted.code, message = s.halted.message },
                plan = show_plan and plan or nil, reported = s.reported, interrupted = s.interrupted }
  else
    if show_plan then
      local rows = {}
      for _, it in ipairs(plan) do
        if it.outcome == "planned" then rows[#rows + 1] = it end
      end
      if #rows > 0 then
        out(M.table({ { "ACTION", "action" }, { "MODULE", "module" }, { "RECORD", "record_id" }, { "NAME", "name" },
                      { "WHY", "why" } }, rows))
      else
        out("nothing to do\n")
      end
    end
    print_summary(p, s, opts, params)
  end
  if s.interrupted then
    io.stderr:write("zlock: interrupted after ", tostring(s.done), " items",
      opts.journal and ("; they are in " .. opts.journal .. ": run the same command again to resume") or "", "\n")
    return 130
  end
  return s.failed == 0 and 0 or 1
end

--- Runs the command line; returns the exit status (0 all done, 1 failures, 2 usage,
-- 130 interrupted).
-- @tparam table argv arguments (without the program name)
-- @treturn integer
function M.main(argv)
  local auth = require "zlock.cli_auth"
  if auth.is_auth(argv or {}) then return auth.main(argv) end
  local cmd, msg = M.parse(argv or {})
  if not cmd then return usage_error(msg) end
  if cmd.opts.help or cmd.command == "help" then out(M.USAGE); return 0 end
  if not cmd.command then io.stderr:write(M.USAGE); return 2 end
  local a, opts = cmd.args, cmd.opts
  local name = cmd.command
  if ID_OPS[name] then
    if not a[1] or not a[2] then return usage_error(name .. " needs MODULE RECORD_ID") end
    if #a > 3 then return usage_error("too many arguments to " .. name) end
  elseif name == "locks" then
    if #a > 1 then return usage_error("locks takes at most one MODULE") end
  elseif name ~= "run" then
    return usage_error("unknown command " .. name)
  end
  local p, params
  if name == "run" then
    p, params = load_policy(a, opts)
    if not p then return params end
  end
  local c, err = client(opts)
  if not c then io.stderr:write("zlock: cannot create the client: ", tostring(err), "\n"); return 2 end
  local ok, status = pcall(function()
    if ID_OPS[name] then return ID_OPS[name](c, a, opts) end
    if name == "locks" then return cmd_locks(c, a, opts) end
    return cmd_run(c, p, params, opts)
  end)
  c:close()
  if not ok then
    local m = tostring(status)
    if m:find("interrupted!", 1, true) then
      io.stderr:write("\nzlock: interrupted", name == "run" and opts.journal and
        ("; finished items are in " .. opts.journal .. ": run the same command again to resume") or "", "\n")
      return 130
    end
    if m:find("^bad argument") or m:find(": bad argument") then
      return usage_error((m:gsub("^[^:]*:%d+: ", "")))
    end
    io.stderr:write("zlock: ", m, "\n")
    return 1
  end
  return status
end

return M
