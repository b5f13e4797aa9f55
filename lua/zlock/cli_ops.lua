--- The `zlock` commands on one record (get, lock, update, unlock) and the lock audit (locks).
-- With `--json`, each prints one object naming the operation, module and record (docs/json.md).
-- @module zlock.cli_ops
local cjson = require "cjson.safe"
local json = require "zlock.cli_json"
local out = require "zlock.cli_out"

-- loaded on use: help needs none of it
local function audit() return require "zlock.audit" end
local function cli() return require "zlock.cli" end

local REASON = { "--reason", "TEXT", "the lock's reason, 1 to 3000 characters", key = "reason", required = true }

local function result(op, a, lock_id, extra)
  local r = { operation = op, module = a[1], record_id = a[2], lock_id = lock_id or cjson.null }
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end

local function print_fields(res)
  local keys = {}
  for k in pairs(res) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v = res[k]
    if type(v) == "table" then v = json.encode(v) end
    if v == cjson.null then v = "null" end
    out.out(("%-36s %s\n"):format(k, tostring(v)))
  end
end

local function print_locks(module, rid, locks)
  if #locks == 0 then out.out(module, "/", rid, " is not locked\n"); return end
  local rows = {}
  for _, l in ipairs(locks) do rows[#rows + 1] = audit().row(l) end
  out.out(out.table({ { "LOCK ID", "id" }, { "SOURCE", "source" }, { "AGE", "age", align = "right" },
                      { "LOCKED BY", "by" }, { "REASON", "reason" } }, rows))
end

local function get(ctx)
  local a, opts = ctx.args, ctx.opts
  local res, err = ctx.client:get(a[1], a[2], a[3])
  if not res then return cli().fail(opts, "get " .. a[1] .. "/" .. a[2], err) end
  if opts.json then
    if a[3] then out.json(result("get", a, a[3], { lock = res }))
    else out.json(result("get", a, nil, { locks = json.array(res) })) end
    return 0
  end
  if a[3] then print_fields(res) else print_locks(a[1], a[2], res) end
  return 0
end

local function lock(ctx)
  local a, opts = ctx.args, ctx.opts
  local res, err = ctx.client:lock(a[1], a[2], opts.reason)
  if not res then return cli().fail(opts, "lock " .. a[1] .. "/" .. a[2], err) end
  if opts.json then
    out.json(result("lock", a, res.id, { reconciled = res.reconciled and true or false,
                                         details = res.details or cjson.null }))
    return 0
  end
  out.out(("locked %s/%s: lock %s%s\n"):format(a[1], a[2], tostring(res.id),
    res.reconciled and " (found after a lost reply)" or ""))
  return 0
end

local function update(ctx)
  local a, opts = ctx.args, ctx.opts
  local res, err = ctx.client:update(a[1], a[2], a[3], opts.reason)
  if not res then return cli().fail(opts, "update " .. a[1] .. "/" .. a[2], err) end
  if opts.json then out.json(result("update", a, res.id or a[3], { details = res.details or cjson.null })); return 0 end
  out.out(("updated lock %s of %s/%s\n"):format(a[3], a[1], a[2]))
  return 0
end

local function unlock(ctx)
  local a, opts = ctx.args, ctx.opts
  local res, err = ctx.client:unlock(a[1], a[2], a[3])
  if not res then return cli().fail(opts, "unlock " .. a[1] .. "/" .. a[2], err) end
  if opts.json then out.json(result("unlock", a, res.id or a[3], { details = res.details or cjson.null })); return 0 end
  out.out(("unlocked %s/%s: lock %s removed\n"):format(a[1], a[2], tostring(res.id)))
  return 0
end

-- ------------------------------------------------------------------ locks (audit)

local function nonempty(s) if s ~= nil and s ~= "" then return s end return cjson.null end

local function locks_json(all, rows)
  local list = json.array()
  for i, l in ipairs(all) do
    list[i] = { module = l.module, record_id = l.record_id, lock_id = l.id, source = nonempty(l.Lock_Source__s),
                reason = nonempty(rows[i].reason), locked_time = nonempty(l.Locked_Time__s),
                locked_by = nonempty(rows[i].by), record_name = nonempty(rows[i].name),
                age_days = tonumber((rows[i].age or ""):match("^(%d+)")) or cjson.null }
  end
  out.json(list)
end

local function locks_long(rows)
  table.sort(rows, function(x, y)
    if x.module ~= y.module then return x.module < y.module end
    if x.source ~= y.source then return x.source < y.source end
    return (x.time or "") < (y.time or "")
  end)
  out.out(out.table({ { "MODULE", "module" }, { "RECORD", "record_id" }, { "LOCK ID", "id" }, { "NAME", "name" },
                      { "SOURCE", "source" }, { "AGE", "age", align = "right" }, { "LOCKED BY", "by" },
                      { "REASON", "reason" } }, rows))
end

local function locks_grouped(rows)
  local a = audit()
  local cols = { { "MODULE", "module" }, { "SOURCE", "source" }, { "LOCKS", "locks", align = "right" } }
  for _, b in ipairs(a.BUCKETS) do cols[#cols + 1] = { b[1], b[1], align = "right" } end
  cols[#cols + 1] = { "OLDEST", "oldest", align = "right" }
  out.out(out.table(cols, a.groups(rows)))
  out.out(("%d lock%s in all\n"):format(#rows, #rows == 1 and "" or "s"))
end

local function locks(ctx)
  local a, opts = ctx.args, ctx.opts
  local rows, all = {}, {}
  local now = os.time()
  local ok, err = pcall(function()
    for l in ctx.client:locks(a[1]) do
      all[#all + 1] = l
      rows[#rows + 1] = audit().row(l, now)
    end
  end)
  if not ok then
    if type(err) == "table" and err.code == "INTERRUPTED" then error(err, 0) end
    if not opts.json and #rows > 0 then
      -- a partial audit is shown, marked as such, and the command still fails
      out.out("INCOMPLETE: only the locks read before the failure below\n")
      if opts.long then locks_long(rows) else locks_grouped(rows) end
    end
    return cli().fail(opts, "locks", require("zlock.error").from(err))
  end
  if opts.json then locks_json(all, rows); return 0 end
  if #rows == 0 then out.out("no locks", a[1] and (" in " .. a[1]) or "", "\n"); return 0 end
  if opts.long then locks_long(rows) else locks_grouped(rows) end
  return 0
end

local RECORD_ARGS = { "MODULE", "RECORD_ID", "LOCK_ID" }

return {
  { name = "get", args = "MODULE RECORD_ID [LOCK_ID]", min = 2, max = 3, run = get, argnames = RECORD_ARGS,
    summary = "show a record's locks (or one lock, with every field)",
    help = "Without LOCK_ID: a table of the record's locks (id, source, age, who, reason).\n"
      .. "With LOCK_ID: every field of that lock record." },
  { name = "lock", args = "MODULE RECORD_ID", min = 2, max = 2, run = lock, options = { REASON },
    argnames = { "MODULE", "RECORD_ID", "--reason" },
    check = function(_, opts) return not opts.reason and "lock needs --reason TEXT" or nil end,
    summary = "lock a record",
    help = "Adds a manual lock. A lock whose reply was lost is found and reported as done\n"
      .. "(\"found after a lost reply\"); a record locked already fails with NOT_ALLOWED." },
  { name = "update", args = "MODULE RECORD_ID LOCK_ID", min = 3, max = 3, run = update, options = { REASON },
    argnames = { "MODULE", "RECORD_ID", "LOCK_ID", "--reason" },
    check = function(_, opts) return not opts.reason and "update needs --reason TEXT" or nil end,
    summary = "change a lock's reason" },
  { name = "unlock", args = "MODULE RECORD_ID [LOCK_ID]", min = 2, max = 3, run = unlock, argnames = RECORD_ARGS,
    summary = "remove a lock (without LOCK_ID: the record's manual lock)" },
  { name = "locks", args = "[MODULE]", min = 0, max = 1, run = locks,
    options = { { "--long", nil, "one line per lock, with its lock id (about one call per locked record)",
                  key = "long" } },
    summary = "audit: every lock, by module, source and age",
    help = "Groups the org's locks (or one module's) by module and source, with age buckets.\n"
      .. "It costs about one COQL call per 2,000 locked records plus one call per locked record." },
}
