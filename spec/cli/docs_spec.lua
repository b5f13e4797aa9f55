-- The man page and the shell completions are made from the command table (scripts/cli-docs.lua):
-- the committed files are current, the man page renders without a warning, and bash completes
-- commands, per-command options, option values and policy files.
local function run(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("*a")
  local _, _, code = p:close()
  return out, code
end

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

describe("zlock man page and completions", function()
  it("are what scripts/cli-docs.lua makes from the command table (run `make cli-docs`)", function()
    for kind, file in pairs{ man = "man/zlock.1", bash = "completions/zlock.bash", zsh = "completions/_zlock" } do
      local made, code = run("lua5.4 scripts/cli-docs.lua " .. kind)
      assert.equals(0, code, made)
      assert.equals(slurp(file), made, file .. " is stale: run make cli-docs")
    end
  end)

  it("man page: renders without warnings and documents every command, option, variable and status", function()
    local out, code = run("groff -man -ww -z man/zlock.1")
    assert.equals(0, code)
    assert.equals("", out)
    local text = run("MANWIDTH=200 man -l man/zlock.1 | col -b")
    local cli = require "zlock.cli"
    cli.load()
    for _, name in ipairs(cli.ORDER) do assert.matches("\n   " .. name, text, 1, true) end
    for _, o in ipairs(cli.GLOBAL) do assert.matches(o[1], text, 1, true) end
    for _, name in ipairs(cli.ORDER) do
      for _, o in ipairs(cli.COMMANDS[name].options) do assert.matches(o[1], text, 1, true) end
    end
    for _, e in ipairs(cli.ENVIRONMENT) do assert.matches(e[1], text, 1, true) end
    for _, e in ipairs(cli.EXIT) do assert.matches("\n       " .. e[1] .. " ", text, 1, true) end
  end)

  local function complete(line)
    local words = {}
    for w in line:gmatch("%S+") do words[#words + 1] = w end
    if line:sub(-1) == " " then words[#words + 1] = "" end
    local q = {}
    for i, w in ipairs(words) do q[i] = "'" .. w .. "'" end
    local out = run(("bash -c 'source completions/zlock.bash; COMP_WORDS=(%s); COMP_CWORD=%d; _zlock; "
      .. "printf \"%%s\\n\" \"${COMPREPLY[@]}\"'"):format(table.concat(q, " "):gsub("'", "'\\''"), #words - 1))
    local got = {}
    for w in out:gmatch("[^\n]+") do got[#got + 1] = w end
    table.sort(got)
    return got
  end

  it("the zsh completion is valid zsh and offers every command and option", function()
    local out, code = run("zsh -n completions/_zlock")
    assert.equals(0, code, out)
    local text = slurp("completions/_zlock")
    local cli = require "zlock.cli"
    cli.load()
    for _, name in ipairs(cli.ORDER) do
      assert.matches("\n    '" .. name .. ":", text, 1, true)
      for _, o in ipairs(cli.COMMANDS[name].options) do assert.matches(o[1] .. "[", text, 1, true) end
    end
    for _, o in ipairs(cli.GLOBAL) do assert.matches(o[1], text, 1, true) end
  end)

  it("bash completes commands, options per command, option values and policy files", function()
    assert.same({ "lock", "locks" }, complete("zlock lo"))
    assert.same({ "--reason" }, complete("zlock lock Deals 1 --re"))
    assert.same({}, complete("zlock lock --dr"))
    assert.same({ "--dry-run" }, complete("zlock run --dr"))
    assert.same({ "eu" }, complete("zlock --dc e"))
    assert.same({ "sandbox" }, complete("zlock get --env sa"))
    assert.same({ "run" }, complete("zlock help r"))
    local files = complete("zlock run examples/lock_cl")
    assert.same({ "examples/lock_closed_lost.lua" }, files)
    assert.same({ "--journal" }, complete("zlock --dc eu run x.lua --jo"))
  end)
end)
