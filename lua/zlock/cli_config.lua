--- The `zlock config` command: record locking configuration as code.
--
--     zlock config get [MODULE]            the configuration(s), as a table or JSON
--     zlock config apply FILE [--dry-run]  make the org match FILE; print the plan
--     zlock config export [MODULE...]      the org's configuration in FILE's format
--
-- FILE is the format of `zlock.config_plan` (a Lua file returning a table, or `.json`).
-- Exit status: 0 done (or nothing to do), 1 a request failed, 2 usage error or a bad FILE.
-- With `--json`, one document as docs/json.md says.
-- @module zlock.cli_config
local cjson = require "cjson.safe"
local json = require "zlock.cli_json"
local out = require "zlock.cli_out"

local function cli() return require "zlock.cli" end

-- ------------------------------------------------------------------ JSON

-- A configuration with its lists marked as JSON arrays (`[]` when empty, never `{}`).
local function config_json(v, key)
  if type(v) ~= "table" then return v end
  local lists = require("zlock.config").LISTS
  local t = {}
  for k, x in pairs(v) do t[k] = config_json(x, k) end
  if lists[key] or #v > 0 then json.array(t) end
  return t
end

local function changes_json(fields)
  local list = json.array()
  for i, f in ipairs(fields or {}) do
    list[i] = { field = f.field, from = config_json(f.from, f.field), to = config_json(f.to, f.field) }
    if list[i].from == nil then list[i].from = cjson.null end
  end
  return list
end

local function plan_json(file, p, dry)
  local steps = json.array()
  for i, s in ipairs(p.steps) do
    local rules = json.array()
    for j, r in ipairs(s.rules) do
      rules[j] = { action = r.action, name = r.name or cjson.null, id = r.id or cjson.null,
                   fields = changes_json(r.fields) }
    end
    steps[i] = { module = s.module, action = s.action, id = s.id or cjson.null, fields = changes_json(s.fields),
                 rules = rules, ok = s.ok and true or false,
                 error = s.error and out.error_object(s.error) or cjson.null }
  end
  return { operation = "config apply", file = file, dry_run = dry, changes = p.changes, applied = p.applied or 0,
           failed = p.failed or 0, steps = steps }
end

-- ------------------------------------------------------------------ text

local function criteria_text(c)
  if type(c) == "string" then return c end
  if type(c) ~= "table" then return "" end
  if type(c.group) == "table" then
    local parts = {}
    for i, g in ipairs(c.group) do parts[i] = criteria_text(g) end
    return "(" .. table.concat(parts, " " .. tostring(c.group_operator or "and") .. " ") .. ")"
  end
  local field = type(c.field) == "table" and c.field.api_name or c.field
  local v = c.value
  if type(v) == "table" then v = json.encode(v) end
  if v == cjson.null then v = "null" end
  return ("(%s %s %s)"):format(tostring(field), tostring(c.comparator), tostring(v))
end

local function value_text(v)
  if v == nil or v == cjson.null then return "-" end
  if type(v) ~= "table" then return tostring(v) end
  local parts = {}
  for i, x in ipairs(v) do
    parts[i] = type(x) == "table" and tostring(x.api_name or x.name or x.id) or tostring(x)
  end
  if #parts == 0 then return next(v) == nil and "-" or criteria_text(v) end
  return table.concat(parts, ", ")
end

local SHOWN = { "lock_type", "locked_for", "lock_excluded_profiles", "restricted_actions", "restricted_communications",
                "restricted_custom_buttons", "excluded_fields", "lock_for_portal_users" }

local function show_config(module, cfg)
  if not cfg then out.out(module, ": no record locking configuration\n"); return end
  out.out(module, " (configuration ", tostring(cfg.id), ")\n")
  for _, k in ipairs(SHOWN) do out.out(("  %-26s %s\n"):format(k, value_text(cfg[k]))) end
  local rules = type(cfg.locking_rules) == "table" and cfg.locking_rules or {}
  if #rules == 0 then out.out("  locking_rules              -\n"); return end
  local rows = {}
  for i, r in ipairs(rules) do
    rows[i] = { id = r.id, name = r.name, existing = tostring(r.lock_existing_records),
                criteria = criteria_text(r.criteria) }
  end
  local t = out.table({ { "RULE ID", "id" }, { "NAME", "name" }, { "EXISTING", "existing" },
                        { "CRITERIA", "criteria" } }, rows)
  out.out((t:gsub("[^\n]+", "  %0")))
end

local function step_lines(s)
  local lines = {}
  for _, f in ipairs(s.fields) do
    lines[#lines + 1] = ("    %s: %s -> %s"):format(f.field, value_text(f.from), value_text(f.to))
  end
  for _, r in ipairs(s.rules) do
    if r.action == "add" then
      lines[#lines + 1] = ("    + rule %q %s"):format(r.name, criteria_text(r.rule.criteria))
    elseif r.action == "delete" then
      lines[#lines + 1] = ("    - rule %q (%s)"):format(tostring(r.name), tostring(r.id))
    else
      for _, f in ipairs(r.fields) do
        local from, to = f.from, f.to
        if f.field == "criteria" then from, to = criteria_text(from), criteria_text(to) end
        lines[#lines + 1] = ("    ~ rule %q %s: %s -> %s"):format(r.name, f.field, value_text(from), value_text(to))
      end
    end
  end
  return lines
end

local function print_plan(p, dry)
  for _, s in ipairs(p.steps) do
    local head = s.action == "none" and "no change" or s.action
    if s.id then head = head .. " (configuration " .. s.id .. ")" end
    if s.error then head = head .. ": FAILED: " .. tostring(s.error) end
    out.out(s.module, ": ", head, "\n")
    for _, l in ipairs(step_lines(s)) do out.out(l, "\n") end
  end
  if p.changes == 0 then out.out("nothing to change\n"); return end
  if dry then
    out.out(("%d module%s to change (dry run: nothing changed)\n"):format(p.changes, p.changes == 1 and "" or "s"))
  else
    out.out(("%d module%s changed, %d failed\n"):format(p.applied, p.applied == 1 and "" or "s", p.failed))
  end
end

-- ------------------------------------------------------------------ subcommands

local function configured_modules(c)
  local d, err = require("zlock.config_plan").export(c)
  if not d then return nil, err end
  local names = {}
  for m in pairs(d) do names[#names + 1] = m end
  table.sort(names)
  return names
end

local function get(ctx)
  local a, opts, c = ctx.args, ctx.opts, ctx.client
  local modules, err = { a[2] }, nil
  if not a[2] then modules, err = configured_modules(c) end
  if not modules then return cli().fail(opts, "config get", err) end
  local all = {}
  for i, m in ipairs(modules) do
    local cfg, gerr = c:lock_config(m)
    if cfg == nil then return cli().fail(opts, "config get " .. m, gerr) end
    all[i] = { module = m, configuration = cfg or cjson.null }
  end
  if opts.json then
    for _, x in ipairs(all) do x.configuration = config_json(x.configuration) end
    out.json{ operation = "config get", configurations = json.array(all) }
    return 0
  end
  if #all == 0 then out.out("no module has a record locking configuration\n") end
  for i, x in ipairs(all) do
    if i > 1 then out.out("\n") end
    show_config(x.module, x.configuration ~= cjson.null and x.configuration)
  end
  return 0
end

local function apply(ctx)
  local opts, file = ctx.opts, ctx.args[2]
  local cp = require "zlock.config_plan"
  local dry = opts.dry_run and true or false
  local p, err = cp.plan(ctx.client, ctx.desired)
  if not p then return cli().fail(opts, "config apply " .. file, err) end
  if not dry then p = cp.apply(ctx.client, p) end
  if opts.json then out.json(plan_json(file, p, dry)) else print_plan(p, dry) end
  for _, s in ipairs(p.steps) do
    if s.error then out.err("zlock: ", s.module, ": ", s.action, " failed: ", tostring(s.error), "\n") end
  end
  return (p.failed or 0) == 0 and 0 or 1
end

local function export(ctx)
  local a, opts = ctx.args, ctx.opts
  local cp = require "zlock.config_plan"
  local names = {}
  for i = 2, #a do names[#names + 1] = a[i] end
  local d, err = cp.export(ctx.client, #names > 0 and names or nil)
  if not d then return cli().fail(opts, "config export", err) end
  if opts.json then
    local t = {}
    for m, cfg in pairs(d) do t[m] = config_json(cfg) end
    out.json(t)
  else
    out.out(cp.dump(d))
  end
  return 0
end

local SUB = { get = get, apply = apply, export = export }

local function check(a, opts)
  local sub = a[1]
  if not SUB[sub] then return "config needs get, apply or export, got " .. tostring(sub) end
  if sub == "get" and #a > 2 then return "config get takes at most one MODULE" end
  if sub == "apply" and #a ~= 2 then return "config apply takes one FILE" end
  if opts.dry_run and sub ~= "apply" then return "--dry-run is for config apply" end
  if sub ~= "apply" then
    local core = require "zlock.core"
    for i = 2, #a do
      local why = core.check_module(a[i])
      if why then return ("config %s: MODULE %q: module name %s"):format(sub, a[i], why) end
    end
  end
  return nil
end

-- config apply: the file is read and checked before any client exists
local function prepare(ctx)
  if ctx.args[1] ~= "apply" then return nil end
  local desired, why = require("zlock.config_plan").load(ctx.args[2])
  if not desired then out.err("zlock: ", why, "\n"); return 2 end
  ctx.desired = desired
  return nil
end

return {
  { name = "config", args = "get [MODULE] | apply FILE | export [MODULE...]", min = 1, run = function(ctx)
      return SUB[ctx.args[1]](ctx)
    end, check = check, prepare = prepare, operand_files = "*.lua",
    argnames = { "MODULE" },
    options = { { "--dry-run", nil, "config apply: print the plan; change nothing", key = "dry_run" } },
    summary = "record locking configuration as code: show it, apply a file, export one",
    help = "get: a module's configuration (default: every configured module) as a table.\n"
      .. "apply FILE: compares FILE (Lua returning a table, or .json) with the org, module by module\n"
      .. "and rule by rule, prints what is created, changed and deleted, and does it (not with --dry-run).\n"
      .. "A second apply changes nothing. A module that fails does not stop the others.\n"
      .. "export: the org's configuration in FILE's format (Lua; JSON with --json), e.g. to copy prod\n"
      .. "to a sandbox: zlock config export > prod.lua; zlock --env sandbox config apply prod.lua" },
}
