-- The `zlock` command's conventions (as gh, kubectl, git): --version, per-command help
-- (`zlock help CMD` = `zlock CMD --help`), usage errors in the command line's words, every
-- environment variable and exit status in --help, `--env`, `locks --long` with lock ids.
local S = require "bulk.support"

describe("zlock conventions", function()
  local e

  lazy_setup(function() e = S.start() end)
  lazy_teardown(function() if e then e:stop() end end)

  it("--version prints zlock's version, the Lua and libcurl, exit 0", function()
    local out, code = S.zlock(nil, { "--version" })
    assert.equals(0, code)
    local v = out:match("^zlock (%d+%.%d+%.%d+) %(Lua 5%.4, libcurl [%d%.]+%)\n$")
    assert.is_string(v, out)
    local rel = io.open("zlock-" .. v .. "-1.rockspec")
    assert.is_not_nil(rel, "a rockspec for version " .. v)
    rel:close()
  end)

  it("both rockspecs install every module under lua/, and nothing else", function()
    local p = assert(io.popen("cd lua && find zlock -name '*.lua' | sort"))
    local want = {}
    for f in p:lines() do want[(f:gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", "."))] = "lua/" .. f end
    p:close()
    for _, spec in ipairs{ "zlock-scm-1.rockspec", "zlock-0.1.0-1.rockspec" } do
      local f = assert(io.open(spec))
      local text = f:read("*a")
      f:close()
      local listed = {}
      for m, path in text:gmatch('%["(zlock[%w_.]*)"%] = "(lua/[^"]+)"') do listed[m] = path end
      for m, path in pairs(want) do assert.equals(path, listed[m], spec .. " lacks " .. m) end
      for m in pairs(listed) do assert.is_truthy(want[m], spec .. " lists " .. m .. ", which does not exist") end
    end
  end)

  it("zlock help CMD and zlock CMD --help print that command's help", function()
    for _, name in ipairs{ "get", "lock", "update", "unlock", "locks", "run" } do
      local a, c1 = S.zlock(nil, { "help", name })
      local b, c2 = S.zlock(nil, { name, "--help" })
      assert.equals(0, c1)
      assert.equals(0, c2)
      assert.equals(a, b)
      assert.matches("^Usage: zlock " .. name .. " ", a)
    end
    local lock = S.zlock(nil, { "lock", "-h" })
    assert.matches("--reason TEXT", lock, 1, true)
    assert.is_nil(lock:find("--dry-run", 1, true))
    local run = S.zlock(nil, { "help", "run" })
    for _, o in ipairs{ "--dry-run", "--concurrency N", "--journal FILE", "--param NAME=VALUE" } do
      assert.matches(o, run, 1, true)
    end
    local _, code, err = S.zlock(nil, { "help", "frob" })
    assert.equals(2, code)
    assert.matches("no command frob", err, 1, true)
  end)

  it("--help lists every environment variable the code reads and every exit status", function()
    local help = S.zlock(nil, { "--help" })
    local p = io.popen("grep -rhoE 'getenv\\(\"[A-Z_]+\"' lua/zlock bin")
    local names = {}
    for n in p:read("*a"):gmatch('getenv%("([A-Z_]+)"') do names[n] = true end
    p:close()
    -- zlock.env_options reads its variables from a table: those too
    for n in (io.open("lua/zlock/init.lua"):read("*a")):gmatch('"(ZOHO_[A-Z_]+)"') do names[n] = true end
    assert.is_true(S.count(names) >= 9)
    for n in pairs(names) do assert.matches(n, help, 1, true) end
    assert.matches("ZLOCK_<NAME>", help, 1, true)
    for _, status in ipairs{ "0", "1", "2", "130" } do
      assert.matches("\n  " .. status .. " +%S", help)
    end
    assert.matches("--env ENV", help, 1, true)
  end)

  it("usage errors speak of operands and options, not of Lua arguments, and send nothing", function()
    local before = e:stats().total
    local cases = {
      { { "lock", "Deals", "12ab", "--reason", "r" }, "RECORD_ID \"12ab\": record id must be" },
      { { "get", "De als", "1" }, "MODULE \"De als\": module name must" },
      { { "unlock", "Deals", "1", "x1" }, "LOCK_ID \"x1\": lock id must be" },
      { { "lock", "Deals", "1", "--reason", ("r"):rep(3001) }, "--reason: reason must be at most 3000" },
      { { "lock", "Deals", "1", "--dry-run", "--reason", "r" }, "lock does not take --dry-run" },
      { { "lock", "Deals" }, "lock needs MODULE RECORD_ID" },
      { { "locks", "Deals", "Leads" }, "too many operands to locks" },
      { { "get", "--json=1", "Deals", "1" }, "--json takes no value" },
    }
    for _, c in ipairs(cases) do
      local out, code, err = S.zlock(e, c[1])
      assert.equals(2, code, table.concat(c[1], " "))
      assert.equals("", out)
      assert.matches(c[2], err, 1, true)
      assert.is_nil(err:find("bad argument", 1, true), err)
      assert.matches("Try 'zlock ", err, 1, true)
    end
    assert.is_true(e:stats().total - before <= 1)   -- the stats call itself
  end)

  it("--env and ZOHO_ENV choose Zoho's environment; a bad one is a usage error", function()
    local _, code, err = S.zlock(e, { "--env", "staging", "get", "Deals", "1" })
    assert.equals(2, code)
    assert.matches("env", err)
    _, code, err = S.zlock(e, { "get", "Deals", "1" }, { ZOHO_ENV = "staging" })
    assert.equals(2, code)
    assert.matches("env", err)
    local out
    out, code = S.zlock(e, { "--env", "sandbox", "get", "Deals", "1" })
    assert.equals(1, code)   -- a valid environment: the call is made (record 1 does not exist)
    assert.equals("", out)
  end)

  it("locks --long shows each lock's id", function()
    local id = S.unlocked(e, "Deals")[1]
    local res = S.zlock_json(e, { "lock", "Deals", id, "--reason", "conventions long" })
    local out, code = S.zlock(e, { "locks", "Deals", "--long" })
    assert.equals(0, code)
    assert.matches("MODULE%s+RECORD%s+LOCK ID%s+NAME", out)
    assert.matches(id .. "%s+" .. res.lock_id, out)
  end)
end)
