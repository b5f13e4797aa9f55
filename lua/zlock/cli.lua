--- The `zlock` command: a table of commands, the parser, and `main`.
--
-- Every command is registered once with `cli.register{...}` (name, usage, help, options,
-- handler); `--help`, `zlock help CMD`, `zlock CMD --help`, the man page and the shell
-- completions are all made from that table. The commands themselves live in `zlock.cli_ops`
-- (get, lock, update, unlock, locks) and `zlock.cli_run` (run); a new module of commands is one
-- more name in `cli.MODULES`.
--
-- Exit status: 0 all done, 1 something failed, 2 usage error, 130 interrupted (SIGINT).
-- @module zlock.cli
local out = require "zlock.cli_out"

local M = {}

--- Modules that register commands (each returns a list of command tables), in help order.
M.MODULES = { "zlock.cli_ops", "zlock.cli_run", "zlock.cli_fixture", "zlock.cli_config" }

--- Options every command takes: `{flag, VALUE or nil, help, key=, short=, choices=, file=}`
-- (`choices` and `file` guide the shell completions).
M.GLOBAL = {
  { "--json", nil, "machine-readable JSON on stdout (the schemas: docs/json.md)", key = "json" },
  { "--api-domain", "URL", "API domain: https://www.zohoapis.eu...; http only to loopback (zlock-emu)",
    key = "api_domain" },
  { "--dc", "DC", "data centre: us eu in au jp cn ca sa (default us)", key = "dc",
    choices = { "us", "eu", "in", "au", "jp", "cn", "ca", "sa" } },
  { "--env", "ENV", "Zoho environment: production (default), sandbox or developer", key = "env",
    choices = { "production", "sandbox", "developer" } },
  { "--verbose", nil, "one line per request and reply on stderr (as ZLOCK_LOG=debug); never a token",
    key = "verbose", short = "-v" },
  { "--proxy", "URL", "proxy for every request (as ZLOCK_PROXY; else https_proxy, all_proxy; no_proxy applies)",
    key = "proxy" },
  { "--profile", "NAME", "credentials profile saved by zlock auth (as ZLOCK_PROFILE; default: default)",
    key = "profile" },
  { "--help", nil, "help (of a command: zlock CMD --help)", key = "help", short = "-h" },
  { "--version", nil, "zlock's version, the Lua and the libcurl it runs on", key = "version" },
}

--- Environment variables the command reads: `{name, help}`.
M.ENVIRONMENT = {
  { "ZOHO_ACCESS_TOKEN", "an access token (alone, or with the refresh credentials)" },
  { "ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN", "refresh credentials (self client or server app)" },
  { "ZOHO_DC", "data centre (as --dc)" },
  { "ZOHO_ENV", "environment (as --env)" },
  { "ZOHO_API_DOMAIN", "API domain (as --api-domain)" },
  { "ZOHO_ACCOUNTS_DOMAIN", "accounts domain for the token refresh (default: the data centre's)" },
  { "ZOHO_API_VERSION", "Zoho CRM API version, v2 to v8 (default v8)" },
  { "ZLOCK_<NAME>", "run: a policy parameter (as --param NAME=VALUE)" },
  { "ZLOCK_LOG", "debug: one line per request and reply on stderr (as --verbose)" },
  { "ZLOCK_EMU", "run --rehearse: the zlock-emu to start (default: the one installed with zlock, or on PATH)" },
  { "ZLOCK_PROXY", "proxy URL (as --proxy)" },
  { "ZLOCK_PROFILE", "credentials profile (as --profile)" },
  { "XDG_CONFIG_HOME, HOME", "credentials file: $XDG_CONFIG_HOME/zlock/credentials, else ~/.config" },
  { "ZLOCK_TOKEN_STORE", "where access tokens are shared: file (default), redis or none" },
  { "ZLOCK_REDIS_URL", "redis://[user:pass@]host[:port][/db] or rediss://...: one token and one budget for a fleet" },
  { "ZLOCK_ORG_LIMIT", "the org's in-flight limit for the fleet budget (unset: learned)" },
  { "ZLOCK_ORG_RESERVE", "share of the limit bulk runs leave to one-at-a-time calls (default 0.2)" },
  { "ZLOCK_ORG_BUDGET", "off: no fleet budget even with ZLOCK_REDIS_URL" },
  { "ZLOCK_ORG_ID", "names the org's budget (default: accounts domain and client id)" },
  { "https_proxy, HTTPS_PROXY, http_proxy, all_proxy, ALL_PROXY", "libcurl's proxy, without ZLOCK_PROXY" },
  { "no_proxy, NO_PROXY", "hosts reached without the proxy (libcurl's rule)" },
  { "COLUMNS", "width tables are cut to (default: the terminal's)" },
  { "LC_ALL, LC_CTYPE, LANG", "a UTF-8 locale draws the progress bar with block characters" },
}

--- Exit statuses: `{status, meaning}`.
M.EXIT = {
  { 0, "everything asked was done" },
  { 1, "a call or some items failed (listed, and in --json)" },
  { 2, "usage error: nothing was sent" },
  { 130, "interrupted (Ctrl-C); run's finished items are in its --journal" },
}

M.COMMANDS, M.ORDER = {}, {}

--- Registers a command.
-- @tparam table cmd `name`, `args` (usage of the operands, e.g. `"MODULE RECORD_ID"`), `min`, `max`
--  (operand counts), `summary` (one line), `help` (paragraphs), `options` (list of `{flag, VALUE
--  or nil, help, key=, multi=}`), `argnames` (what the Lua call's arguments are called on the
--  command line, for its argument errors), `check_options(opts)` (-> nil or a usage message:
--  option values, when parsing; may convert them), `check(args, opts)` (-> nil or a usage
--  message, before any request), `client` (false: needs no Zoho client), `client_for(opts,
--  configured)` (-> the command's client, or nil and an error; `configured(opts)` makes the usual
--  one), `prepare(ctx)` (-> nil, or an exit status:
--  before the client exists), `run(ctx)` (-> exit status; `ctx.args`, `ctx.opts`, `ctx.client`),
--  `safe_points()` (-> a set of functions: the first Ctrl-C stops the command only when one of
--  them is next called; without it, Ctrl-C stops it at once)
function M.register(cmd)
  assert(type(cmd.name) == "string" and type(cmd.run) == "function", "command needs name and run")
  cmd.options = cmd.options or {}
  if not M.COMMANDS[cmd.name] then M.ORDER[#M.ORDER + 1] = cmd.name end
  M.COMMANDS[cmd.name] = cmd
end

local loaded = false
--- Loads the command modules (once).
function M.load()
  if loaded then return end
  loaded = true
  for _, name in ipairs(M.MODULES) do
    for _, cmd in ipairs(require(name)) do M.register(cmd) end
  end
  -- `zlock auth ...` parses its own arguments (zlock.cli_auth); listed here for the help
  M.register{ name = "auth", args = "[status]", min = 0, max = 1, client = false,
    summary = "save a refresh token from a self client's grant code; auth status: what is in use",
    help = require("zlock.cli_auth").USAGE, run = function() return 2 end }
end

-- every option (global and per command) by flag, with the commands that take it
local function option_index()
  local idx = {}
  for _, o in ipairs(M.GLOBAL) do
    idx[o[1]] = { opt = o, global = true }
    if o.short then idx[o.short] = idx[o[1]] end
  end
  for _, name in ipairs(M.ORDER) do
    for _, o in ipairs(M.COMMANDS[name].options) do
      local e = idx[o[1]] or { opt = o, by = {} }
      if e.by then e.by[name] = true end
      idx[o[1]] = e
    end
  end
  return idx
end

local function set_option(e, v, opts)
  local o = e.opt
  if o.multi then
    local list = opts[o.key] or {}
    list[#list + 1] = v
    opts[o.key] = list
  else
    opts[o.key] = v
  end
end

-- The options given to a known command: each must be its own or global, with a valid value.
local function check_given(cmd, given, opts)
  for _, e in ipairs(given) do
    if not e.global and not e.by[cmd.name] then return cmd.name .. " does not take " .. e.opt[1] end
  end
  return cmd.check_options and cmd.check_options(opts)
end

--- Parses arguments into `{command=, args={...}, opts={...}}`, or nil and a usage message.
-- Options may come anywhere, with their value inline (`--opt=value`); a lone `--` ends them.
-- @tparam table argv
-- @treturn table|nil
-- @treturn string|nil
-- @treturn string|nil the command the message is about
function M.parse(argv)
  M.load()
  local idx = option_index()
  local opts, pos, given = {}, {}, {}
  local i = 1
  while i <= #argv do
    local a = argv[i]
    local name, inline = a:match("^(%-%-[%w%-]+)=(.*)$")
    name = name or a
    local e = idx[name]
    if a == "--" then
      for j = i + 1, #argv do pos[#pos + 1] = argv[j] end
      break
    elseif e and e.opt[2] then
      local v = inline
      if v == nil then
        i = i + 1
        v = argv[i]
        if v == nil then return nil, name .. " needs a value (" .. e.opt[2] .. ")" end
      end
      set_option(e, v, opts)
      given[#given + 1] = e
    elseif e and inline == nil then
      opts[e.opt.key] = true
      given[#given + 1] = e
    elseif e then
      return nil, name .. " takes no value"
    elseif a:match("^%-") and a ~= "-" then
      return nil, "unknown option " .. a
    else
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  local cmd = table.remove(pos, 1)
  local bad = M.COMMANDS[cmd or ""] and check_given(M.COMMANDS[cmd], given, opts)
  if bad then return nil, bad, cmd end
  return { command = cmd, args = pos, opts = opts }
end

-- ------------------------------------------------------------------ help

local help = require "zlock.cli_help"

--- The global help text.
-- @treturn string
function M.usage()
  M.load()
  return help.usage(M)
end

--- One command's help text (nil for an unknown command).
-- @tparam string name
-- @treturn string|nil
function M.command_help(name)
  M.load()
  local cmd = M.COMMANDS[name]
  return cmd and help.command(M, cmd)
end

--- The version line, e.g. `zlock 0.1.0 (Lua 5.4, libcurl 7.88.1)`.
-- @treturn string
function M.version()
  local core = require "zlock.core"
  local lua = rawget(_G, "jit") and jit.version or _VERSION
  local ok, curl = pcall(core.curl_version)
  return ("zlock %s (%s, libcurl %s)\n"):format(core.version, lua, ok and curl or "not loadable")
end

-- ------------------------------------------------------------------ errors

--- Writes a usage error (in the command line's words) and returns 2.
-- @tparam string msg
-- @tparam[opt] string cmd the command, for the hint
-- @treturn integer 2
function M.usage_error(msg, cmd)
  out.err("zlock: ", msg, "\n", "Try 'zlock ", cmd and (cmd .. " --help") or "--help", "'.\n")
  return 2
end

--- Reports a failed call: on stderr, and as the error object on stdout in JSON mode; returns 1.
-- @tparam table opts
-- @tparam string what e.g. `"lock Deals/123"`
-- @param err the error
-- @treturn integer 1
function M.fail(opts, what, err)
  if opts.json then out.json{ error = out.error_object(err) } end
  out.err("zlock: ", what, " failed: ", tostring(err), "\n")
  return 1
end

-- "bad argument #2 to 'lock' (record id must be 1 to 19 digits)" -> the operand's name
local function argument_error(cmd, args, m)
  local n, why = m:match("bad argument #(%d+) to '[^']*' %((.*)%)$")
  local names = cmd.argnames
  if not n or not names or not names[tonumber(n)] then return nil end
  local what = names[tonumber(n)]
  local v = what:match("^%-") and nil or args[tonumber(n)]
  return ("%s: %s%s: %s"):format(cmd.name, what, v and (" " .. ("%q"):format(v)) or "", why)
end

--- The error raised on SIGINT while a command runs (identity: `code == "INTERRUPTED"`).
M.INTERRUPTED = setmetatable({ code = "INTERRUPTED", message = "interrupted (SIGINT)", retryable = false },
  { __tostring = function() return "INTERRUPTED: interrupted (SIGINT)" end })

local function is_interrupt(e)
  return e == M.INTERRUPTED or (type(e) == "table" and e.code == "INTERRUPTED")
end

-- ------------------------------------------------------------------ main

local function client(opts, extra)
  local zlock = require "zlock"
  require("zlock.select").install(zlock.Client)
  require("zlock.bulk").install(zlock.Client)
  local p, err = require("zlock.credentials").profile(opts.profile)
  if not p and err then return nil, err end
  p = p or {}
  p.api_domain, p.dc, p.env = opts.api_domain or p.api_domain, opts.dc or p.dc, opts.env or p.env
  p.log, p.proxy = opts.verbose and "debug" or nil, opts.proxy
  for k, v in pairs(extra or {}) do p[k] = v end
  return zlock.new(zlock.env_options(p))
end

local function dispatch(cmd, ctx)
  local ok, status = pcall(cmd.run, ctx)
  if ctx.client then ctx.client:close() end
  if ok then return status end
  if is_interrupt(status) then
    out.err("\nzlock: interrupted", ctx.interrupt_hint or "", "\n")
    return 130
  end
  local m = tostring(status)
  local usage = argument_error(cmd, ctx.args, m)
  if usage then return M.usage_error(usage, cmd.name) end
  if ctx.opts.json then out.json{ error = out.error_object(status) } end
  out.err("zlock: ", m, "\n")
  return 1
end

local function check_operands(cmd, a, opts)
  if #a < (cmd.min or 0) then
    return ("%s needs %s"):format(cmd.name, cmd.args ~= "" and cmd.args or "no operand")
  end
  if cmd.max and #a > cmd.max then
    return ("too many operands to %s (usage: zlock %s %s)"):format(cmd.name, cmd.name, cmd.args)
  end
  return cmd.check and cmd.check(a, opts)
end

-- `help`, `--help`, `--version` and an absent command; nil when a command is to run
local function meta(p)
  local opts, name = p.opts, p.command
  if opts.version then out.out(M.version()); return 0 end
  if name == "help" then
    local topic = p.args[1]
    if not topic then out.out(M.usage()); return 0 end
    local text = M.command_help(topic)
    if not text then return M.usage_error("no command " .. topic) end
    out.out(text)
    return 0
  end
  if opts.help then
    if name and not M.COMMANDS[name] then return M.usage_error("unknown command " .. name) end
    out.out(name and M.command_help(name) or M.usage())
    return 0
  end
  if not name then out.err(M.usage()); return 2 end
  if not M.COMMANDS[name] then return M.usage_error("unknown command " .. name) end
  return nil
end

-- The exit status once stdout is flushed: output that could not be written (a full disk, a
-- closed pipe) fails the command too.
local function output_status(status)
  local flushed, ferr = io.stdout:flush()
  if flushed then return status end
  out.err("zlock: cannot write the output: ", tostring(ferr), "\n")
  return status ~= 0 and status or 1
end

--- Runs the command line; returns the exit status (0 all done, 1 failures, 2 usage,
-- 130 interrupted).
-- @tparam table argv arguments (without the program name)
-- @treturn integer
function M.main(argv)
  local auth = require "zlock.cli_auth"
  if auth.is_auth(argv or {}) then return auth.main(argv) end
  local p, msg, about = M.parse(argv or {})
  if not p then return M.usage_error(msg, about) end
  local status = meta(p)
  if status then return status end
  local cmd = M.COMMANDS[p.command]
  local bad = check_operands(cmd, p.args, p.opts)
  if bad then return M.usage_error(bad, cmd.name) end
  local ctx = { args = p.args, opts = p.opts, cli = M }
  if cmd.prepare then
    status = cmd.prepare(ctx)
    if status then return status end
  end
  if cmd.client ~= false then
    local c, err
    if cmd.client_for then c, err = cmd.client_for(p.opts, client) else c, err = client(p.opts) end
    if not c then
      if p.opts.json then out.json{ error = out.error_object(err) } end
      out.err("zlock: cannot create the client: ", tostring(err), "\n")
      return 2
    end
    ctx.client = c
  end
  local core = require "zlock.core"
  if cmd.safe_points then
    core.trap_sigint(M.INTERRUPTED, cmd.safe_points(), "\nzlock: stopping: the calls in flight finish first"
      .. " (Ctrl-C again to quit at once)\n")
  else
    core.trap_sigint(M.INTERRUPTED)
  end
  status = dispatch(cmd, ctx)
  core.trap_sigint(nil)
  return output_status(status)
end

--- The text table formatter (`zlock.cli_out.table`).
M.table = out.table

return M
