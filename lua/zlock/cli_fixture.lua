--- Rehearsal on a copy of an org: the command `zlock fixture export`, and `zlock run` on a copy.
--
--     zlock fixture export Deals --criteria "(Stage:equals:Closed Lost)" \
--           --fields Deal_Name,Stage,Closing_Date,Owner > org.json
--     zlock run lock_closed_lost.lua --rehearse org.json
--
-- The export only reads (records, their locks, the module's fields and locking configuration,
-- the users they name) and writes an org fixture (zlock-emu's `--seed` format). It holds record
-- data, never a credential. The rehearsal starts zlock-emu on the fixture, runs the policy
-- against it, prints the summary and the lock audit, and stops the emulator: nothing real is
-- touched (no Zoho configuration is even read). `zlock.cli_run` takes `--rehearse` through
-- `client` and `finish_rehearsal` below.
-- @module zlock.cli_fixture
local cjson = require "cjson.safe"
-- loaded on use: the command table is read without the C core (help, man page, completions)
local function parse_time(s) return require("zlock.policy").parse_time(s) end

local M = {}

-- Zoho data types -> zlock-emu field types (anything else is kept as text).
local TYPES = { text = "text", textarea = "textarea", picklist = "picklist", currency = "currency",
                double = "double", integer = "integer", bigint = "integer", date = "date",
                datetime = "datetime", email = "email", phone = "phone", website = "website",
                boolean = "boolean", lookup = "lookup" }
-- Fields every record has that are not record values in a fixture.
local NOT_VALUES = { id = true, Owner = true, Locked__s = true, Created_Time = true, Modified_Time = true,
                     ["$approval"] = true }

local function is_null(v) return v == nil or v == cjson.null end

-- A read that failed: on stderr, and with --json as the error object on stdout; status 1.
local function fail(opts, what, err)
  return require("zlock.cli").fail(opts, "fixture export: " .. what, require("zlock.error").from(err))
end

-- The org's users, indexed as a fixture wants them: the current user first (the rehearsal acts
-- as them), then every owner and locker met, by id.
local function user_index(c)
  local users, index = {}, {}
  local function add(u)
    if type(u) ~= "table" or is_null(u.id) or index[u.id] then return end
    local profile = type(u.profile) == "table" and u.profile.name or nil
    local role = type(u.role) == "table" and u.role.name or nil
    users[#users + 1] = { id = tostring(u.id), name = u.full_name or u.name or "User", email = u.email,
                          profile = profile, role = role }
    index[u.id] = #users - 1
  end
  local me = c:request("GET", "users", { query = { type = "CurrentUser" } })
  if me and type(me.users) == "table" then add(me.users[1]) end
  return users, function(u)
    if type(u) ~= "table" or is_null(u.id) then return 0 end
    add(u)
    return index[u.id]
  end
end

-- Field definitions of the selected fields (types, picklists, lookups) from settings/fields.
local function field_defs(c, module, wanted)
  local res, err = c:request("GET", "settings/fields", { query = { module = module } })
  if not res then return nil, err end
  local defs = {}
  for _, f in ipairs(res.fields or {}) do
    if wanted[f.api_name] and not NOT_VALUES[f.api_name] and TYPES[f.data_type] then
      local d = { api_name = f.api_name, type = TYPES[f.data_type] }
      if type(f.pick_list_values) == "table" and #f.pick_list_values > 0 then
        d.picklist = {}
        for i, v in ipairs(f.pick_list_values) do d.picklist[i] = v.actual_value or v.display_value end
      end
      if type(f.lookup) == "table" and type(f.lookup.module) == "table" then d.lookup = f.lookup.module.api_name end
      defs[#defs + 1] = d
    end
  end
  return defs
end

-- The lock of a locked record, as a fixture lock.
local function lock_of(c, module, id, user_of)
  local locks, err = c:get(module, id)
  if not locks then return nil, err end
  local l = locks[1]
  for _, x in ipairs(locks) do if x.Lock_Source__s == "Manual" then l = x end end
  if not l then return nil end
  local automatic = l.Lock_Source__s == "Automatic"
  return { id = l.id, source = automatic and "Automatic" or "Manual",
           reason = not is_null(l.Locked_Reason__s) and l.Locked_Reason__s or nil,
           time = parse_time(l.Locked_Time__s),
           locked_by = automatic and -1 or user_of(l.Locked_By__s),
           rule_id = not is_null(l.Record_Locking_Rule_Id__s) and l.Record_Locking_Rule_Id__s or nil,
           config_id = not is_null(l.Record_Locking_Configuration_Id__s)
             and l.Record_Locking_Configuration_Id__s or nil }
end

local function record_of(c, module, rec, user_of)
  local out = { id = tostring(rec.id), owner = user_of(rec.Owner), values = {} }
  out.created = parse_time(rec.Created_Time)
  out.modified = parse_time(rec.Modified_Time)
  for k, v in pairs(rec) do
    if not NOT_VALUES[k] and not is_null(v) and not k:find("[%.%$]") then
      out.values[k] = type(v) == "table" and v.id or v   -- a lookup: its record id
    end
  end
  if next(out.values) == nil then out.values = nil end
  if rec.Locked__s == true then
    local l, err = lock_of(c, module, out.id, user_of)
    if err then return nil, err end
    out.lock = l
  end
  return out
end

-- The records the selection names (an iterator over records).
local function selection(c, module, opts)
  if opts.coql then return c:coql(opts.coql) end
  local fields, seen = {}, {}
  for f in ("Owner,Locked__s,Created_Time,Modified_Time," .. opts.fields):gmatch("[^,%s]+") do
    if not seen[f] then seen[f] = true; fields[#fields + 1] = f end
  end
  if opts.criteria then return c:search(module, opts.criteria, { fields = fields }) end
  return c:records(module, { fields = fields })
end

local function wanted_fields(opts)
  local wanted = {}
  local list = opts.fields
    or (opts.coql and opts.coql:match("^%s*[Ss][Ee][Ll][Ee][Cc][Tt]%s+(.-)%s+[Ff][Rr][Oo][Mm]%s"))
  for f in (list or ""):gmatch("[^,%s]+") do wanted[f] = true end
  return wanted
end

--- The command `zlock fixture export MODULE`: writes the fixture to stdout (the records of
-- `--criteria C`, `--coql Q` or the whole module, with `--fields F,...`). Returns the exit
-- status (0, 1 when a read failed).
-- @param c client
-- @tparam table a operands: `export`, MODULE
-- @tparam table opts parsed options
-- @treturn integer
function M.export(c, a, opts)
  local module = a[2]
  local records, config = {}, nil
  local users, user_of = user_index(c)
  local ok, err = pcall(function()
    for rec in selection(c, module, opts) do
      local r, rerr = record_of(c, module, rec, user_of)
      if not r then error(rerr, 0) end
      records[#records + 1] = r
    end
  end)
  if not ok then
    if type(err) == "table" and err.code == "INTERRUPTED" then error(err, 0) end   -- Ctrl-C: exit 130
    return fail(opts, "reading " .. module, err)
  end
  local defs, derr = field_defs(c, module, wanted_fields(opts))
  if not defs then return fail(opts, "reading the fields of " .. module, derr) end
  local cfg, status = c:request("GET", "settings/record_locking_configurations", { query = { module = module } })
  if not cfg then return fail(opts, "reading the locking configuration of " .. module, status) end
  if status ~= 204 and type(cfg.record_locking_configurations) == "table" then
    config = cfg.record_locking_configurations[1]
  end
  local mod = { api_name = module, config = config, records = records }
  if #defs > 0 then mod.fields = defs end
  local fixture = require "zlock.testing.fixture"
  io.stdout:write(fixture.encode{ format = "zlock-emu-state", version = 1, users = users, modules = { mod } }, "\n")
  io.stderr:write(("zlock: fixture of %d %s record%s written (record data included: keep it as you keep "
    .. "an export of your org)\n"):format(#records, module, #records == 1 and "" or "s"))
  return 0
end

-- Checks `fixture export MODULE` and its options before any request: nil, or the usage message.
local function check(a, opts)
  if a[1] ~= "export" then return "fixture takes the subcommand export (zlock fixture export MODULE ...)" end
  if not a[2]:match("^[A-Za-z][A-Za-z0-9_]*$") then
    return "fixture export: MODULE must be an API name such as Deals"
  end
  if opts.criteria and opts.coql then return "fixture export takes --criteria or --coql, not both" end
  if not opts.coql and not opts.fields then
    return "fixture export needs --fields F1,F2,... (the fields the policy reads) unless --coql names them"
  end
  return nil
end

--- The client of a command: for a rehearsal, on a zlock-emu started on the fixture given by
-- `--rehearse ORG.json` (the emulator in `c._rehearsal`); else `configured(opts)`, the configured org's.
-- @tparam table opts
-- @tparam function configured
-- @return client, or nil and the error
function M.client(opts, configured)
  -- a run's own calls (its selection) are bulk work: they do not make its engine keep the
  -- fleet budget's reserve for interactive calls
  if not opts.rehearse then return configured(opts, { org_priority = "bulk" }) end
  local ok, emu = pcall(require("zlock.testing").emulator, { seed = opts.rehearse })
  if not ok then return nil, (tostring(emu):gsub("^[^:]*:%d+: ", "")) end
  local c = emu:client()
  c._rehearsal = emu
  return c
end

--- Ends a rehearsal (nothing to do otherwise): the lock audit of the emulator (not in JSON
-- mode: stdout then holds the summary alone), then the emulator stops.
-- @param c the command's client
-- @tparam function audit `function(c)` printing the audit
-- @tparam table opts
function M.finish_rehearsal(c, audit, opts)
  local emu = c._rehearsal
  if not emu then return end
  if not opts.json and emu:running() then
    io.stdout:write("\nLocks in the rehearsal org (", opts.rehearse, ", nothing real was touched):\n")
    local ok, err = pcall(audit, c)   -- e.g. Ctrl-C reached the emulator too
    if not ok then io.stderr:write("zlock: the rehearsal's audit failed: ", tostring(err), "\n") end
  end
  emu:stop()
end

M.commands = {
  { name = "fixture", args = "export MODULE", min = 2, max = 2, check = check,
    run = function(ctx) return M.export(ctx.client, ctx.args, ctx.opts) end,
    summary = "write an org fixture: the records a policy sees, their locks, the module's configuration",
    options = {
      { "--criteria", "CRITERIA", "the records of a Zoho search, e.g. (Stage:equals:Closed Lost)", key = "criteria" },
      { "--coql", "QUERY", "the records of a COQL query (its select list names the fields)", key = "coql" },
      { "--fields", "F1,F2,...", "the fields to copy (with --criteria, or alone: every record)", key = "fields" },
    },
    help = "Reads only. The fixture (JSON, zlock-emu's --seed format) holds record data (names,\n"
      .. "amounts, owners' names and emails), never a token or secret. Rehearse a policy on it:\n"
      .. "zlock run POLICY.lua --rehearse org.json" },
}

return setmetatable(M.commands, { __index = M })
