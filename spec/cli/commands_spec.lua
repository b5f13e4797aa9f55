-- The `zlock` command, run as a real process against zlock-emu: the four operations,
-- the audit, policies, `--json`, and the exit statuses (0 all done, 1 failed, 2 usage).
local S = require "bulk.support"
local cjson = require "cjson"

describe("zlock command", function()
  local e, ids

  lazy_setup(function()
    e = S.start()
    ids = S.unlocked(e, "Deals")
  end)

  lazy_teardown(function()
    if e then e:stop() end
  end)

  local function take() return assert(table.remove(ids), "out of unlocked deals") end

  describe("usage", function()
    it("prints help and exits 0 with --help", function()
      local out, code = S.zlock(nil, { "--help" })
      assert.equals(0, code)
      assert.matches("Usage: zlock", out, 1, true)
      for _, cmd in ipairs{ "run POLICY.lua", "get MODULE", "lock MODULE", "update MODULE", "unlock MODULE",
                            "locks" } do
        assert.matches(cmd, out, 1, true)
      end
    end)

    it("exits 2 with a message on usage errors, before any request", function()
      local before = e:stats().total
      for _, args in ipairs{ {}, { "frob" }, { "--bogus", "get", "Deals", "1" }, { "get", "Deals" },
                             { "lock", "Deals", "1" }, { "update", "Deals", "1", "--reason", "r" },
                             { "run" }, { "run", "--concurrency", "0", "x.lua" },
                             { "run", "x.lua", "--param", "novalue" },
                             { "lock", "Deals", "12ab", "--reason", "r" },
                             { "get", "Deals", "1", "2", "3" }, { "run", "/nonexistent/policy.lua" } } do
        local _, code, err = S.zlock(e, args)
        assert.equals(2, code, "args: " .. table.concat(args, " "))
        assert.is_true(#err > 0)
        assert.is_nil(err:find("zlockemu", 1, true))
      end
      -- /__emu/stats itself counts as one request per call
      assert.is_true(e:stats().total - before <= 2)
    end)
  end)

  describe("configuration", function()
    it("takes the API domain from --api-domain and refuses a bad --dc or plain http off loopback", function()
      local id = take()
      local env = "env -u ZOHO_API_DOMAIN -u ZOHO_REFRESH_TOKEN -u ZOHO_CLIENT_ID -u ZOHO_CLIENT_SECRET -u ZOHO_DC "
        .. "ZOHO_ACCESS_TOKEN=" .. S.quote(require("helpers.emu").ACCESS_TOKEN) .. " "
      local function run(args)
        local p = io.popen(env .. "bin/zlock " .. args .. " 2>&1")
        local out = p:read("*a")
        local _, _, code = p:close()
        return out, code
      end
      local out, code = run("--api-domain " .. S.quote(e.url) .. " get Deals " .. id)
      assert.equals(0, code, out)
      assert.matches("is not locked", out, 1, true)
      out, code = run("--dc mars get Deals " .. id)
      assert.equals(2, code, out)
      assert.matches("INVALID_ARGUMENT", out, 1, true)
      out, code = run("--api-domain http://example.com get Deals " .. id)
      assert.equals(2, code, out)
      assert.matches("https", out, 1, true)
    end)
  end)

  describe("the four operations", function()
    it("locks, gets, updates and unlocks with human output", function()
      local id = take()
      local out, code = S.zlock(e, { "lock", "Deals", id, "--reason", "cli spec lock" })
      assert.equals(0, code)
      local lock_id = out:match("^locked Deals/" .. id .. ": lock (%d+)")
      assert.is_string(lock_id)
      local _, by = S.locks(e)
      assert.equals(lock_id, by[id][1].lock_id)

      out, code = S.zlock(e, { "get", "Deals", id })
      assert.equals(0, code)
      assert.matches("LOCK ID", out, 1, true)
      assert.matches(lock_id, out, 1, true)
      assert.matches("cli spec lock", out, 1, true)
      assert.matches("Manual", out, 1, true)

      out, code = S.zlock(e, { "update", "Deals", id, lock_id, "--reason", "cli spec updated" })
      assert.equals(0, code)
      assert.matches("updated lock " .. lock_id, out, 1, true)
      _, by = S.locks(e)
      assert.equals("cli spec updated", by[id][1].reason)

      out, code = S.zlock(e, { "get", "Deals", id, lock_id })
      assert.equals(0, code)
      assert.matches("Locked_Reason__s%s+cli spec updated", out)

      out, code = S.zlock(e, { "unlock", "Deals", id })
      assert.equals(0, code)
      assert.matches("unlocked Deals/" .. id, out, 1, true)
      _, by = S.locks(e)
      assert.is_nil(by[id])

      out, code = S.zlock(e, { "get", "Deals", id })
      assert.equals(0, code)
      assert.matches("is not locked", out, 1, true)
    end)

    it("speaks JSON with --json", function()
      local id = take()
      local res, code = S.zlock_json(e, { "lock", "Deals", id, "--reason", "cli spec json" })
      assert.equals(0, code)
      assert.is_string(res.lock_id)
      local got = S.zlock_json(e, { "get", "Deals", id })
      assert.equals(1, #got.locks)
      assert.equals(res.lock_id, got.locks[1].id)
      assert.equals("cli spec json", got.locks[1].Locked_Reason__s)
      local un = S.zlock_json(e, { "unlock", "Deals", id, res.lock_id })
      assert.equals(res.lock_id, un.lock_id)
      local empty = S.zlock_json(e, { "get", "Deals", id })
      assert.same({}, empty.locks)
    end)

    it("exits 1 and explains the error when a call fails (human and JSON)", function()
      local id = take()
      S.zlock(e, { "lock", "Deals", id, "--reason", "first" })
      local _, code, err = S.zlock(e, { "lock", "Deals", id, "--reason", "second" })
      assert.equals(1, code)
      assert.matches("NOT_ALLOWED", err, 1, true)
      assert.matches("already locked", err, 1, true)
      local res
      res, code = S.zlock_json(e, { "unlock", "Deals", "1234567890123456789", "1234567890123456789" })
      assert.equals(1, code)
      assert.equals("INVALID_DATA", res.error.code)
      assert.equals(400, res.error.http_status)
    end)

    it("never prints the access token", function()
      local out, _, err = S.zlock(e, { "get", "Deals", "1234567890123456789" })
      assert.is_nil((out .. err):find("zlockemu", 1, true))
      out, _, err = S.zlock(e, { "get", "Deals", "1" }, { ZOHO_ACCESS_TOKEN = "1000.wrong-token" })
      assert.is_nil((out .. err):find("wrong%-token"))
    end)
  end)

  describe("locks (audit)", function()
    it("lists every lock: JSON matches the emulator's state, the table groups by module and source", function()
      local id = take()
      S.zlock(e, { "lock", "Deals", id, "--reason", "cli spec audit" })
      local list, code = S.zlock_json(e, { "locks" })
      assert.equals(0, code)
      local locks = S.locks(e)
      assert.equals(#locks, #list)
      local want = {}
      for _, l in ipairs(locks) do want[l.lock_id] = l end
      for _, l in ipairs(list) do
        local w = want[l.lock_id]
        assert.is_table(w, "lock " .. tostring(l.lock_id) .. " is not in the state")
        assert.equals(w.module, l.module)
        assert.equals(w.record_id, l.record_id)
        assert.equals(w.source, l.source)
        assert.is_number(l.age_days)
      end

      local out
      out, code = S.zlock(e, { "locks" })
      assert.equals(0, code)
      assert.matches("MODULE%s+SOURCE%s+LOCKS", out)
      local by_group = {}
      for _, l in ipairs(locks) do
        local k = l.module .. " " .. l.source
        by_group[k] = (by_group[k] or 0) + 1
      end
      for k, n in pairs(by_group) do
        local m, src = k:match("^(%S+) (%S+)$")
        assert.matches(m .. "%s+" .. src .. "%s+" .. n .. "%s", out)
      end
      assert.matches(#locks .. " locks in all", out, 1, true)

      out, code = S.zlock(e, { "locks", "Deals", "--long" })
      assert.equals(0, code)
      assert.matches("cli spec audit", out, 1, true)
      assert.matches(id, out, 1, true)
    end)
  end)

  describe("run", function()
    local function policy(text)
      return S.tmpfile(text, ".lua")
    end

    it("refuses an invalid policy with a clear message and exit 2", function()
      local cases = {
        { "return 42", "must return a table" },
        { "return { module = 'Deals', select = { criteria = '(Stage:equals:X)' }, action = 'burn' }",
          "action must be" },
        { "return { module = 'Deals', select = { criteria = '(Stage:equals:X)' }, action = 'lock' }",
          "needs a reason" },
        { "return { module = 'Deals', action = 'unlock' }", "select must be" },
        { "return { module = 'Deals', select = {}, action = 'unlock', wher = 1 }", "unknown field \"wher\"" },
        { "return { module = 'Deals', select = { criteria = 'x' }, action = 'update', reason = 'r' }",
          "needs select = { locks = true }" },
        { "local f = io.open('/etc/passwd') return {}", "io" },
        { "return {", "does not compile" },
      }
      for _, case in ipairs(cases) do
        local f = policy(case[1])
        local _, code, err = S.zlock(e, { "run", f, "--dry-run" })
        assert.equals(2, code, case[1])
        assert.matches(case[2], err, 1, true)
        os.remove(f)
      end
    end)

    it("updates the reasons of selected locks (select = { locks = true }, action = update)", function()
      local a, b = take(), take()
      S.zlock(e, { "lock", "Deals", a, "--reason", "cli update: quarter close" })
      S.zlock(e, { "lock", "Deals", b, "--reason", "cli keep: other" })
      local f = policy([[
        return { module = "Deals", select = { locks = true }, action = "update",
                 where = function(l) return (l.Locked_Reason__s or ""):sub(1, 11) == "cli update:" end,
                 reason = "${Locked_Reason__s} (reviewed ${params.by})", params = { by = "nobody" } }
      ]])
      local s, code = S.zlock_json(e, { "run", f, "--param", "by=spec" })
      assert.equals(0, code)
      assert.equals(1, s.counts.updated)
      local _, by = S.locks(e)
      assert.equals("cli update: quarter close (reviewed spec)", by[a][1].reason)
      assert.equals("cli keep: other", by[b][1].reason)
      os.remove(f)
    end)

    it("exits 1 when some items fail and lists them; 0 when all are done (JSON summary)", function()
      local good, bad = take(), take()
      local f = policy(([[
        return { module = "Deals", select = { fields = { "Deal_Name" } }, action = "lock",
                 where = function(rec)
                   if rec.id == "%s" then error("cannot decide") end
                   return rec.id == "%s"
                 end,
                 reason = "cli spec run ${Deal_Name}" }
      ]]):format(bad, good))
      local s, code = S.zlock_json(e, { "run", f })
      assert.equals(1, code)
      assert.equals(1, #s.failures)
      assert.equals(bad, s.failures[1].record_id)
      assert.equals("POLICY", s.failures[1].error.code)
      assert.matches("cannot decide", s.failures[1].error.message, 1, true)
      assert.equals(1, s.counts.locked)
      assert.equals(1, s.matched)
      assert.is_true(s.selected >= 2)
      local _, by = S.locks(e)
      assert.matches("^cli spec run ", by[good][1].reason)
      assert.is_nil(by[bad])
      os.remove(f)

      local id = take()
      f = policy(([[
        return { module = "Deals", select = { fields = { "Deal_Name" } }, action = "lock",
                 where = function(rec) return rec.id == "%s" end, reason = "cli spec run ok" }
      ]]):format(id))
      s, code = S.zlock_json(e, { "run", f })
      assert.equals(0, code)
      assert.equals(1, s.counts.locked)
      assert.same({}, s.failures)
      _, by = S.locks(e)
      assert.equals("cli spec run ok", by[id][1].reason)
      os.remove(f)
    end)
  end)
end)

describe("zlock command helpers", function()
  local cli = require "zlock.cli"

  it("parses options anywhere, --opt=value, repeated --param", function()
    local p = assert(cli.parse{ "run", "--dry-run", "x.lua", "--param", "days=5", "--param=prefix=a b",
                                "--concurrency=4", "--json" })
    assert.equals("run", p.command)
    assert.same({ "x.lua" }, p.args)
    assert.is_true(p.opts.dry_run)
    assert.is_true(p.opts.json)
    assert.equals(4, p.opts.concurrency)
    assert.same({ "days=5", "prefix=a b" }, p.opts.param)
    assert.is_nil(cli.parse{ "run", "--concurrency" })
    assert.is_nil(cli.parse{ "get", "--json=yes" })
    local _, msg = cli.parse{ "lock", "Deals", "1", "--dry-run" }
    assert.equals("lock does not take --dry-run", msg)
  end)

  it("aligns tables and cuts the last column to the width", function()
    local t = cli.table({ { "A", "a" }, { "N", "n", align = "right" }, { "TEXT", "t" } },
      { { a = "x", n = 5, t = "short" }, { a = "longer", n = 12345, t = ("y"):rep(200) } }, 40)
    local lines = {}
    for l in t:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.equals(3, #lines)
    assert.equals("A           N  TEXT", lines[1])
    assert.equals("x           5  short", lines[2])
    assert.is_true(utf8.len(lines[3]) <= 40)
    assert.is_not_nil(cjson)
  end)
end)
