--- Help texts of the `zlock` command, made from its table of commands (`zlock.cli`): the global
-- `--help`, one command's help, and the plain data the man page and completions are made from.
-- @module zlock.cli_help
local M = {}

local function option_usage(o)
  local flag = o.short and (o.short .. ", " .. o[1]) or o[1]
  return o[2] and (flag .. " " .. o[2]) or flag
end

local function rows(list, indent)
  local w = 0
  for _, r in ipairs(list) do w = math.max(w, #r[1]) end
  w = math.min(w, 34)
  local lines = {}
  for _, r in ipairs(list) do
    if #r[1] > w then
      lines[#lines + 1] = indent .. r[1]
      lines[#lines + 1] = indent .. (" "):rep(w + 2) .. r[2]
    else
      lines[#lines + 1] = indent .. r[1] .. (" "):rep(w - #r[1] + 2) .. r[2]
    end
  end
  return table.concat(lines, "\n") .. "\n"
end

--- `{usage, help}` rows of a list of options.
-- @tparam table options
-- @treturn table
function M.option_rows(options)
  local list = {}
  for _, o in ipairs(options) do list[#list + 1] = { option_usage(o), o[3] } end
  return list
end

--- The synopsis line of a command (without "zlock ").
-- @tparam table cmd
-- @treturn string
function M.synopsis(cmd)
  local parts = { cmd.name }
  if cmd.args and cmd.args ~= "" then parts[#parts + 1] = cmd.args end
  for _, o in ipairs(cmd.options) do
    local u = option_usage(o)
    parts[#parts + 1] = o.required and u or ("[" .. u .. "]" .. (o.multi and "..." or ""))
  end
  return table.concat(parts, " ")
end

local function trailer(cli)
  local env, exit = {}, {}
  for _, e in ipairs(cli.ENVIRONMENT) do env[#env + 1] = { e[1], e[2] } end
  for _, e in ipairs(cli.EXIT) do exit[#exit + 1] = { tostring(e[1]), e[2] } end
  return "\nEnvironment:\n" .. rows(env, "  ") .. "\nExit status:\n" .. rows(exit, "  ")
end

--- The global help (also `zlock help`).
-- @tparam table cli the `zlock.cli` module
-- @treturn string
function M.usage(cli)
  local cmds = {}
  for _, name in ipairs(cli.ORDER) do
    local c = cli.COMMANDS[name]
    cmds[#cmds + 1] = { c.name .. (c.args ~= "" and (" " .. c.args) or ""), c.summary }
  end
  cmds[#cmds + 1] = { "help COMMAND", "that command's help (also: zlock COMMAND --help)" }
  return "Usage: zlock [OPTIONS] COMMAND [ARGS...]\n\n"
    .. "Zoho CRM record locks from the shell: the four lock operations, bulk lock policies, audits.\n\n"
    .. "Commands:\n" .. rows(cmds, "  ")
    .. "\nOptions (every command):\n" .. rows(M.option_rows(cli.GLOBAL), "  ")
    .. trailer(cli)
end

--- One command's help (`zlock help CMD`).
-- @tparam table cli the `zlock.cli` module
-- @tparam table cmd the command
-- @treturn string
function M.command(cli, cmd)
  local t = { "Usage: zlock " .. M.synopsis(cmd) .. " [--json]\n\n", cmd.summary, "\n" }
  if cmd.help then t[#t + 1] = "\n" .. cmd.help:gsub("%s+$", "") .. "\n" end
  if #cmd.options > 0 then t[#t + 1] = "\nOptions:\n" .. rows(M.option_rows(cmd.options), "  ") end
  t[#t + 1] = "\nOptions of every command:\n" .. rows(M.option_rows(cli.GLOBAL), "  ")
  t[#t + 1] = trailer(cli)
  return table.concat(t)
end

return M
