-- zlock-emu's command line: flags, --help, exit statuses, the first stdout line, signals,
-- --state save/restore, --seed FILE, --records scaling.
local emu = require "helpers.emu"
local cjson = require "cjson.safe"

local BIN = emu.BIN

local function sh_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- Runs the emulator to completion (for flags that make it exit at once).
-- Returns exit code, stdout, stderr.
local function run(args)
  local out, err = os.tmpname(), os.tmpname()
  local parts = { sh_quote(BIN) }
  for _, a in ipairs(args) do parts[#parts + 1] = sh_quote(a) end
  local cmd = table.concat(parts, " ") .. " >" .. sh_quote(out) .. " 2>" .. sh_quote(err) .. " </dev/null"
  local _, _, code = os.execute("timeout 10 " .. cmd)
  local function slurp(p)
    local f = io.open(p); local s = f and f:read("*a") or ""; if f then f:close() end
    os.remove(p); return s
  end
  return code, slurp(out), slurp(err)
end

local function write_file(path, text)
  local f = assert(io.open(path, "w")); f:write(text); f:close()
end

local function file_exists(path)
  local f = io.open(path); if f then f:close() return true end; return false
end

local function first_unlocked(e, module)
  for id, locked in pairs(e:state().records[module]) do
    if not locked then return id end
  end
end

local function lock(e, module, id, reason)
  return e:req("POST", "/crm/v8/" .. module .. "/" .. id .. "/Locking_Information__s",
    { body = { data = { { Locked_Reason__s = reason } } } })
end

describe("zlock-emu command line", function()
  describe("--help", function()
    local code, out, err
    lazy_setup(function() code, out, err = run{ "--help" } end)

    it("exits 0 and writes to stdout only", function()
      assert.are.equal(0, code)
      assert.are.equal("", err)
      assert.truthy(out:find("usage: zlock-emu", 1, true))
    end)

    it("documents every flag of the contract", function()
      for _, flag in ipairs{ "--listen", "--seed", "--records", "--state", "--latency",
        "--concurrency-limit", "--credits", "--token-ttl", "--fail-rate", "--drop-rate",
        "--access-token", "--client-id", "--client-secret", "--refresh-token", "--help" } do
        assert.truthy(out:find(flag, 1, true), flag .. " missing from --help")
      end
    end)

    it("prints the demo credentials", function()
      for _, s in ipairs{ emu.ACCESS_TOKEN, emu.CLIENT_ID, emu.CLIENT_SECRET, emu.REFRESH_TOKEN } do
        assert.truthy(out:find(s, 1, true), s .. " missing from --help")
      end
    end)
  end)

  describe("a bad command line exits 2 with a message on stderr and nothing on stdout", function()
    local cases = {
      { "--no-such-flag" }, { "--latency", "abc" }, { "--latency", "10:x" }, { "--fail-rate", "1.5" },
      { "--drop-rate", "-0.1" }, { "--records", "Deals" }, { "--records", "Deals=-3" },
      { "--records", "9bad=1" }, { "--listen", "nowhere" }, { "--listen", "127.0.0.1:70000" },
      { "--concurrency-limit", "many" }, { "--credits", "" }, { "--token-ttl", "0" },
      { "--listen", "0.0.0.0:0" }, { "--seed" }, { "stray-argument" }, { "--drop-mode", "sometimes" },
    }
    for _, args in ipairs(cases) do
      it(table.concat(args, " "), function()
        local code, out, err = run(args)
        assert.are.equal(2, code)
        assert.are.equal("", out)
        assert.truthy(err:find("zlock-emu: ", 1, true), "stderr: " .. err)
        assert.truthy(err:find("--help", 1, true), "the message points at --help: " .. err)
      end)
    end
  end)

  it("exits 1 with a message when the seed file is not valid JSON", function()
    local p = os.tmpname()
    write_file(p, "{ not json")
    local code, out, err = run{ "--listen", "127.0.0.1:0", "--seed", p }
    os.remove(p)
    assert.are.equal(1, code)
    assert.are.equal("", out)
    assert.truthy(err:find(p, 1, true), "stderr names the file: " .. err)
  end)

  describe("start and stop", function()
    it("PORT 0 picks a free port: two emulators run side by side", function()
      local a = emu.start{}
      local b = emu.start{}
      assert.are_not.equal(a.url, b.url)
      assert.are.equal(200, a:req("GET", "/__emu/stats", { token = false }).status)
      assert.are.equal(200, b:req("GET", "/__emu/stats", { token = false }).status)
      a:stop(); b:stop()
    end)

    it("writes exactly one stdout line and exits 0 on SIGTERM", function()
      local e = emu.start{}
      assert.are.equal(200, e:req("GET", "/crm/v8/users?type=CurrentUser").status)
      os.execute("kill -TERM " .. e.pid)
      local rest = e.pipe:read("*a")
      local ok, how, code = e.pipe:close()
      e.pipe = nil
      os.remove(e.log)
      assert.are.equal("", rest)
      assert.is_true(ok)
      assert.are.equal("exit", how)
      assert.are.equal(0, code)
    end)

    it("exits 0 on SIGINT", function()
      local e = emu.start{}
      local ok, how, code = e:stop("INT")
      assert.is_true(ok)
      assert.are.equal("exit", how)
      assert.are.equal(0, code)
    end)

    it("stays quiet on stderr while serving (no per-request logging by default)", function()
      local e = emu.start{}
      for _ = 1, 5 do e:req("GET", "/crm/v8/users?type=CurrentUser") end
      e:req("GET", "/no/such/url")
      local log = e:stderr()
      e:stop()
      assert.are.equal("", log)
    end)

    it("starts with the demo org when no --seed is given", function()
      local e = emu.start{}
      local st = e:state()
      e:stop()
      assert.is_true(st.counts.Deals.records >= 200)
      assert.is_true(st.counts.Deals.configured)
      assert.is_true(st.counts.Leads.configured)
    end)

    it("--seed empty starts an org without records", function()
      local e = emu.start{ "--seed", "empty" }
      local st = e:state()
      e:stop()
      assert.are.equal(0, st.counts.Deals.records)
      assert.are.equal(0, #st.locks)
    end)
  end)

  describe("--drop-mode", function()
    local socket = require "socket"
    -- One raw HTTP/1.1 request; returns everything read until the server closes.
    local function raw(e, path)
      local host, port = e.url:match("^http://([^:]+):(%d+)$")
      local s = assert(socket.connect(host, tonumber(port)))
      s:settimeout(5)
      assert(s:send("GET " .. path .. " HTTP/1.1\r\nHost: x\r\nAuthorization: Zoho-oauthtoken "
        .. emu.ACCESS_TOKEN .. "\r\n\r\n"))
      local got, err, partial = s:receive("*a")
      s:close()
      return got or partial, err
    end

    it("close (default) drops with no reply byte", function()
      local e = emu.start{ "--drop-rate", "1" }
      local got = raw(e, "/crm/v8/users")
      e:stop()
      assert.are.equal("", got)
    end)

    it("headers sends the status line and headers, then closes before the body", function()
      local e = emu.start{ "--drop-rate", "1", "--drop-mode", "headers" }
      local got = raw(e, "/crm/v8/users")
      local stats = e:stats()
      e:stop()
      assert.truthy(got:match("^HTTP/1%.1 %d%d%d "), "status line: " .. got)
      assert.truthy(got:find("\r\n\r\n", 1, true), "headers end")
      assert.is_nil(got:find('"users"', 1, true), "no body")
      assert.are.equal(1, stats.drops)
    end)
  end)

  describe("--records", function()
    it("scales modules, and the same flags give the same org (same ids)", function()
      local a = emu.start{ "--records", "Deals=700,Leads=30" }
      local b = emu.start{ "--records", "Deals=700,Leads=30" }
      local sa, sb = a:state(), b:state()
      a:stop(); b:stop()
      assert.are.equal(700, sa.counts.Deals.records)
      assert.are.equal(30, sa.counts.Leads.records)
      assert.are.same(sa.records.Deals, sb.records.Deals)
      assert.are.same(sa.locks, sb.locks)
    end)

    it("creates a custom module for an unknown name", function()
      local e = emu.start{ "--seed", "empty", "--records", "Projects__c=12" }
      local st = e:state()
      local res = e:req("GET", "/crm/v8/Projects__c?fields=Name,Status&per_page=5")
      e:stop()
      assert.are.equal(12, st.counts.Projects__c.records)
      assert.are.equal(200, res.status)
      assert.are.equal(5, #res.json.data)
    end)
  end)

  describe("--state", function()
    it("saves the org on SIGTERM (atomically) and loads it on the next start", function()
      local path = os.tmpname()
      os.remove(path)
      local e = emu.start{ "--state", path }
      local id = first_unlocked(e, "Deals")
      local res = lock(e, "Deals", id, "kept across restarts")
      assert.are.equal(201, res.status)
      local lock_id = res.json.data[1].details.id
      local before = e:state()
      local ok = e:stop()
      assert.is_true(ok)
      assert.is_true(file_exists(path))
      local f = io.open(path); local text = f:read("*a"); f:close()
      assert.truthy(cjson.decode(text), "the state file is JSON")

      local e2 = emu.start{ "--state", path }
      local after = e2:state()
      local got = e2:req("GET", "/crm/v8/Deals/" .. id .. "/Locking_Information__s/" .. lock_id)
      e2:stop()
      os.remove(path)
      assert.are.same(before.locks, after.locks)
      assert.are.same(before.records, after.records)
      assert.are.equal(200, got.status)
      assert.are.equal("kept across restarts", got.json.data[1].Locked_Reason__s)
    end)

    it("reset goes back to the seed, not to the loaded state", function()
      local path = os.tmpname()
      os.remove(path)
      local e = emu.start{ "--state", path }
      local seeded = #e:state().locks
      assert.are.equal(201, lock(e, "Deals", first_unlocked(e, "Deals"), "x").status)
      e:stop()
      local e2 = emu.start{ "--state", path }
      assert.are.equal(seeded + 1, #e2:state().locks)
      e2:reset()
      local n = #e2:state().locks
      e2:stop()
      os.remove(path)
      assert.are.equal(seeded, n)
    end)
  end)

  describe("--seed FILE", function()
    it("loads modules, records, a configuration and locks from a JSON file", function()
      local path = os.tmpname()
      write_file(path, cjson.encode{
        modules = {
          { api_name = "Deals",
            config = { lock_type = "manual", restricted_actions = { "update" } },
            records = {
              { id = "5843104000009000001", values = { Deal_Name = "Seeded one", Stage = "Qualification" } },
              { id = "5843104000009000002", values = { Deal_Name = "Seeded two", Stage = "Closed Won" },
                lock = { id = "5843104000009000099", source = "Manual", reason = "from the file" } },
            } },
        },
      })
      local e = emu.start{ "--seed", path }
      local st = e:state()
      local got = e:req("GET", "/crm/v8/Deals/5843104000009000002/Locking_Information__s/5843104000009000099")
      local res = lock(e, "Deals", "5843104000009000001", "now")
      e:stop()
      os.remove(path)
      assert.are.equal(2, st.counts.Deals.records)
      assert.are.equal(1, #st.locks)
      assert.are.equal("5843104000009000099", st.locks[1].lock_id)
      assert.are.equal(200, got.status)
      assert.are.equal("from the file", got.json.data[1].Locked_Reason__s)
      assert.are.equal("Seeded two", got.json.data[1].Locked_For__s.name)
      assert.are.equal(201, res.status)
    end)
  end)
end)
