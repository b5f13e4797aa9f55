-- The `zlock` command's man page and shell completions, made from the same table of commands
-- as its --help (lua/zlock/cli.lua):
--   lua5.4 scripts/cli-docs.lua man|bash|zsh   > FILE
-- `make cli-docs` writes man/zlock.1, completions/zlock.bash and completions/_zlock; `make test`
-- checks the committed files are what this script makes.
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
local cli = require "zlock.cli"
local help = require "zlock.cli_help"
cli.load()

local what = arg[1]
local lines = {}
local function w(s) lines[#lines + 1] = s end

-- ------------------------------------------------------------------ man (troff, man macros)

local function roff(s)
  s = s:gsub("\\", "\\e"):gsub("%-", "\\-")
  return (s:gsub("\n%.", "\n\\&."):gsub("^%.", "\\&."):gsub("\n'", "\n\\&'"))
end

local function man_option(o)
  local flag = o.short and (o.short .. ", " .. o[1]) or o[1]
  w(".TP")
  w("\\fB" .. roff(flag) .. "\\fR" .. (o[2] and (" \\fI" .. roff(o[2]) .. "\\fR") or ""))
  w(roff(o[3]))
end

local function man()
  local core_version = "0.1.0"
  for l in io.lines("csrc/zlock.h") do
    core_version = l:match('#define ZL_VERSION "([^"]+)"') or core_version
  end
  w('.\\" Made by scripts/cli-docs.lua from the zlock command\'s table of commands: do not edit.')
  w(('.TH ZLOCK 1 "" "zlock %s" "User Commands"'):format(core_version))
  w(".SH NAME")
  w("zlock \\- Zoho CRM record locks from the shell")
  w(".SH SYNOPSIS")
  for _, name in ipairs(cli.ORDER) do
    w(".B zlock")
    w(roff(help.synopsis(cli.COMMANDS[name])) .. " [\\-\\-json]")
    w(".br")
  end
  w(".B zlock")
  w("help COMMAND | \\-\\-help | \\-\\-version")
  w(".SH DESCRIPTION")
  w("Locks, reads, updates and unlocks Zoho CRM records (the Locking_Information__s API), runs "
    .. "bulk lock policies and audits the org's locks. \\fBzlock COMMAND \\-\\-help\\fR shows the same "
    .. "text as this page for one command.")
  w(".SH COMMANDS")
  for _, name in ipairs(cli.ORDER) do
    local c = cli.COMMANDS[name]
    w(".SS " .. roff(name .. (c.args ~= "" and (" " .. c.args) or "")))
    w(roff(c.summary) .. ".")
    if c.help then
      w(".PP")
      w(roff((c.help:gsub("%s+$", ""))))
    end
    for _, o in ipairs(c.options) do man_option(o) end
  end
  w(".SH OPTIONS")
  w("Every command takes these.")
  for _, o in ipairs(cli.GLOBAL) do man_option(o) end
  w(".SH ENVIRONMENT")
  for _, e in ipairs(cli.ENVIRONMENT) do
    w(".TP")
    w("\\fB" .. roff(e[1]) .. "\\fR")
    w(roff(e[2]))
  end
  w(".SH EXIT STATUS")
  for _, e in ipairs(cli.EXIT) do
    w(".TP")
    w("\\fB" .. e[1] .. "\\fR")
    w(roff(e[2]))
  end
  w(".SH FILES")
  w("A policy is a Lua file returning a table (see the examples shipped with zlock). "
    .. "\\fB\\-\\-journal\\fR FILE records finished items, one line each.")
  w(".SH SEE ALSO")
  w("The JSON output of every command: docs/json.md in zlock's sources.")
end

-- ------------------------------------------------------------------ completions

local function words(list, sep)
  local t = {}
  for _, x in ipairs(list) do t[#t + 1] = x end
  return table.concat(t, sep or " ")
end

local function flags_of(options)
  local t = {}
  for _, o in ipairs(options) do
    t[#t + 1] = o[1]
    if o.short then t[#t + 1] = o.short end
  end
  return t
end

local function valued(options, seen, t)
  for _, o in ipairs(options) do
    if o[2] and not seen[o[1]] then seen[o[1]] = true; t[#t + 1] = o end
  end
end

local function all_valued()
  local seen, t = {}, {}
  valued(cli.GLOBAL, seen, t)
  for _, name in ipairs(cli.ORDER) do valued(cli.COMMANDS[name].options, seen, t) end
  return t
end

local function bash()
  local global = words(flags_of(cli.GLOBAL))
  local vals = all_valued()
  local vflags = {}
  for _, o in ipairs(vals) do vflags[#vflags + 1] = o[1] end
  w("# bash completion for zlock. Made by scripts/cli-docs.lua from the zlock command's table of")
  w("# commands: do not edit. Install: copy to /usr/share/bash-completion/completions/zlock, or")
  w("# source it from ~/.bashrc.")
  w("_zlock() {")
  w("  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd= i")
  w("  for ((i = 1; i < COMP_CWORD; i++)); do")
  w("    case ${COMP_WORDS[i]} in")
  w("      " .. words(vflags, "|") .. ") ((i++)) ;;")
  w("      -*) ;;")
  w("      *) [ -z \"$cmd\" ] && cmd=${COMP_WORDS[i]} ;;")
  w("    esac")
  w("  done")
  w("  case $prev in")
  for _, o in ipairs(vals) do
    if o.choices then
      w(("    %s) COMPREPLY=($(compgen -W %q -- \"$cur\")); return ;;"):format(o[1], words(o.choices)))
    elseif o.file then
      w(("    %s) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;"):format(o[1]))
    else
      w(("    %s) COMPREPLY=(); return ;;"):format(o[1]))
    end
  end
  w("  esac")
  w("  case $cmd in")
  w(("    '') COMPREPLY=($(compgen -W %q -- \"$cur\")) ;;"):format(words(cli.ORDER) .. " help " .. global))
  w(("    help) COMPREPLY=($(compgen -W %q -- \"$cur\")) ;;"):format(words(cli.ORDER)))
  for _, name in ipairs(cli.ORDER) do
    local c = cli.COMMANDS[name]
    local opts = words(flags_of(c.options)) .. " " .. global
    if c.operand_files then
      w(("    %s) if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W %q -- \"$cur\"));"):format(name, opts))
      w(("        else COMPREPLY=($(compgen -f -X %q -- \"$cur\") $(compgen -d -- \"$cur\")); fi ;;")
        :format("!" .. c.operand_files))
    else
      w(("    %s) COMPREPLY=($(compgen -W %q -- \"$cur\")) ;;"):format(name, opts))
    end
  end
  w("  esac")
  w("}")
  w("complete -F _zlock zlock")
end

local function zq(s)   -- text inside '...' of a zsh _arguments spec: quote ' and brackets
  return (s:gsub("'", "'\\''"):gsub("([%[%]])", "\\%1"))
end

local function zsh_spec(o)
  local flag = o.short and ("(" .. o.short .. " " .. o[1] .. ")'{" .. o.short .. "," .. o[1] .. "}'") or o[1]
  local s = "'" .. flag .. "[" .. zq(o[3]) .. "]"
  if o[2] then
    local action = o.choices and ("(" .. words(o.choices) .. ")") or (o.file and "_files" or " ")
    s = s .. ":" .. zq(o[2]) .. ":" .. action
  end
  if o.multi then s = "'*" .. s:sub(2) end
  return s .. "'"
end

local function zsh()
  w("#compdef zlock")
  w("# zsh completion for zlock. Made by scripts/cli-docs.lua from the zlock command's table of")
  w("# commands: do not edit. Install: copy to a directory of $fpath as _zlock.")
  w("_zlock() {")
  w("  local curcontext=$curcontext state line")
  w("  local -a commands global")
  w("  commands=(")
  for _, name in ipairs(cli.ORDER) do
    w(("    '%s:%s'"):format(name, zq(cli.COMMANDS[name].summary)))
  end
  w("    'help:" .. zq("show a command's help") .. "'")
  w("  )")
  w("  global=(")
  for _, o in ipairs(cli.GLOBAL) do w("    " .. zsh_spec(o)) end
  w("  )")
  w("  _arguments -C $global '1:command:->command' '*::argument:->argument' && return")
  w("  case $state in")
  w("    command) _describe -t commands 'zlock command' commands ;;")
  w("    argument)")
  w("      case $line[1] in")
  w("        help) _describe -t commands 'zlock command' commands ;;")
  for _, name in ipairs(cli.ORDER) do
    local c = cli.COMMANDS[name]
    local specs = {}
    for _, o in ipairs(c.options) do specs[#specs + 1] = zsh_spec(o) end
    if c.operand_files then specs[#specs + 1] = "'1:file:_files -g \"" .. c.operand_files .. "\"'" end
    w(("        %s) _arguments $global %s ;;"):format(name, table.concat(specs, " ")))
  end
  w("      esac ;;")
  w("  esac")
  w("}")
  w('_zlock "$@"')
end

local make = { man = man, bash = bash, zsh = zsh }
if not make[what] then
  io.stderr:write("usage: lua scripts/cli-docs.lua man|bash|zsh\n")
  os.exit(2)
end
make[what]()
io.write(table.concat(lines, "\n"), "\n")
