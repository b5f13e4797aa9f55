-- The four operations (lock, get one, get list, update, unlock) and the helpers
-- built on them (c:locked, c:unlock without a lock id, module-level functions), black-box,
-- against zlock-emu over real sockets. Every answer is checked against the emulator's own view.
local support = require "core.support"
local zlock = require "zlock"
local org = support.org

local ISO8601 = "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d[%+%-]%d%d:%d%d$"

local function assert_string_ids(t)
  local ids = support.ids_in(t)
  for _, pair in ipairs(ids) do
    local path, v = pair[1], pair[2]
    if v ~= zlock.null then
      assert(type(v) == "string", "id at " .. path .. " is a " .. type(v) .. ", not a string")
      assert(v:match("^%d+$") and #v <= 19, "id at " .. path .. " is not 1..19 digits: " .. v)
    end
  end
  return #ids
end

describe("zlock operations", function()
  local e, c

  lazy_setup(function()
    e = support.start()
    c = support.client(e)
  end)

  lazy_teardown(function()
    if c and c.close then c:close() end
    if e then e:stop() end
  end)

  describe("lock -> get one -> get list -> update -> unlock", function()
    local rid, lock

    lazy_setup(function()
      rid = org.fresh(e, "Deals")
    end)

    it("c:lock returns the new lock, its id a string of digits the emulator holds", function()
      local err
      lock, err = c:lock("Deals", rid, "last round of negotiations")
      assert.is_nil(err)
      assert.is_table(lock)
      assert.is_string(lock.id)
      assert.matches("^%d+$", lock.id)
      -- Zoho's 201 item, with its field names
      assert.equals("SUCCESS", lock.code)
      assert.equals("success", lock.status)
      assert.equals(lock.id, lock.details.id)
      assert.matches(ISO8601, lock.details.Created_Time)
      assert.is_string(lock.details.Created_By.id)
      assert_string_ids(lock)
      local server = org.locks(e, "Deals", rid)
      assert.equals(1, #server)
      assert.equals(lock.id, server[1].id)
      assert.equals("last round of negotiations", server[1].Locked_Reason__s)
      assert.equals("Manual", server[1].Lock_Source__s)
      local in_state = support.state_locks(e, "Deals", rid)
      assert.equals(1, #in_state)
      assert.equals(lock.id, in_state[1].lock_id)
      assert.equals("Manual", in_state[1].source)
    end)

    it("c:get with a lock id returns that lock with Zoho's field names, ids as strings, nulls as zlock.null",
      function()
        assert.is_table(lock, "the lock spec above must pass first")
        local one, err = c:get("Deals", rid, lock.id)
        assert.is_nil(err)
        assert.is_table(one)
        assert.equals(lock.id, one.id)
        assert.equals("last round of negotiations", one.Locked_Reason__s)
        assert.equals("Manual", one.Lock_Source__s)
        assert.equals(rid, one.Locked_For__s.id)
        assert.equals("Deals", one.Locked_For__s.module.api_name)
        assert.matches(ISO8601, one.Locked_Time__s)
        assert.is_string(one.Locked_By__s.id)
        -- a manual lock has no rule: JSON null, which zlock gives as zlock.null (not nil, not a number)
        assert.is_not_nil(zlock.null)
        assert.equals(zlock.null, one.Record_Locking_Rule_Id__s)
        assert.is_string(one.Record_Locking_Configuration_Id__s)
        assert.is_true(assert_string_ids(one) >= 4)
      end)

    it("c:get without a lock id returns the array of the record's locks and Zoho's paging `info`", function()
      assert.is_table(lock, "the lock spec above must pass first")
      local all, info = c:get("Deals", rid)
      assert.is_table(all, tostring(info))
      assert.equals(1, #all)
      assert.equals(lock.id, all[1].id)
      assert.equals("Manual", all[1].Lock_Source__s)
      assert.equals("last round of negotiations", all[1].Locked_Reason__s)
      assert.equals(rid, all[1].Locked_For__s.id)
      assert_string_ids(all[1])
      assert.is_table(info)
      assert.equals(1, info.count)
      assert.equals(false, info.more_records)
      assert.is_number(info.per_page)
      assert.is_number(info.page)
    end)

    it("c:update changes the reason, as the emulator then reports", function()
      assert.is_table(lock, "the lock spec above must pass first")
      local res, err = c:update("Deals", rid, lock.id, "awaiting final approval")
      assert.is_nil(err)
      assert.is_table(res)
      assert.equals(lock.id, res.id)
      assert.equals("SUCCESS", res.code)
      local server = org.locks(e, "Deals", rid)
      assert.equals(1, #server)
      assert.equals("awaiting final approval", server[1].Locked_Reason__s)
      local one = assert(c:get("Deals", rid, lock.id))
      assert.equals("awaiting final approval", one.Locked_Reason__s)
      assert.equals("awaiting final approval", support.state_locks(e, "Deals", rid)[1].reason)
    end)

    it("c:unlock removes the lock: the list is then {} and the emulator's state holds no lock", function()
      assert.is_table(lock, "the lock spec above must pass first")
      local res, err = c:unlock("Deals", rid, lock.id)
      assert.is_nil(err)
      assert.is_table(res)
      assert.equals(lock.id, res.id)
      assert.same({}, org.locks(e, "Deals", rid))
      assert.equals(0, #support.state_locks(e, "Deals", rid))
      local all, info = c:get("Deals", rid)
      assert.is_table(all, tostring(info))
      assert.equals(0, #all)
      assert.is_nil(next(all))
    end)
  end)

  it("c:get on a record that was never locked is an empty table, not nil and not an error (204)", function()
    local rid = org.fresh(e, "Leads")
    local all, info = c:get("Leads", rid)
    assert.is_table(all, tostring(info))
    assert.is_nil(next(all))
    assert.is_table(info)
    assert.equals(false, info.more_records)
  end)

  it("reasons travel unchanged: quotes, backslashes, newlines and non-ASCII UTF-8", function()
    local rid = org.fresh(e, "Leads")
    local reason = 'quote " backslash \\ slash / tab\t newline\n Ünïcödé 日本 ✓ {"data":[]}'
    local lock = assert(c:lock("Leads", rid, reason))
    assert.equals(reason, org.locks(e, "Leads", rid)[1].Locked_Reason__s)
    assert.equals(reason, assert(c:get("Leads", rid, lock.id)).Locked_Reason__s)
    assert(c:unlock("Leads", rid, lock.id))
  end)

  it("a 3000-character reason (characters, not bytes) is accepted", function()
    local rid = org.fresh(e, "Leads")
    local reason = ("é"):rep(3000)
    local lock, err = c:lock("Leads", rid, reason)
    assert.is_nil(err)
    assert.equals(reason, org.locks(e, "Leads", rid)[1].Locked_Reason__s)
    assert(c:unlock("Leads", rid, lock.id))
  end)

  describe("list options", function()
    local rid, lock

    lazy_setup(function()
      rid = org.fresh(e, "Leads")
      lock = assert(c:lock("Leads", rid, "options"))
    end)

    it("fields limits the fields of each lock", function()
      local all = assert(c:get("Leads", rid, { fields = { "Locked_Reason__s" } }))
      assert.equals(1, #all)
      assert.equals(lock.id, all[1].id)
      assert.equals("options", all[1].Locked_Reason__s)
      assert.is_nil(all[1].Locked_Time__s)
      assert.is_nil(all[1].Lock_Source__s)
    end)

    it("fields also accepts Zoho's comma-separated string", function()
      local all = assert(c:get("Leads", rid, { fields = "Lock_Source__s,Locked_Reason__s" }))
      assert.equals("Manual", all[1].Lock_Source__s)
      assert.is_nil(all[1].Locked_Time__s)
    end)

    it("page and per_page reach the server (info echoes them)", function()
      local all, info = c:get("Leads", rid, { page = 1, per_page = 1 })
      assert.is_table(all, tostring(info))
      assert.equals(1, #all)
      assert.equals(1, info.per_page)
      assert.equals(1, info.page)
      local second, info2 = c:get("Leads", rid, { page = 2, per_page = 1 })
      assert.is_table(second, tostring(info2))
      assert.equals(0, #second)
    end)

    it("ids filters by lock id", function()
      local mine = assert(c:get("Leads", rid, { ids = { lock.id } }))
      assert.equals(1, #mine)
      assert.equals(lock.id, mine[1].id)
      local other = assert(c:get("Leads", rid, { ids = { "1234567890123456789" } }))
      assert.equals(0, #other)
    end)

    pending("page_token reaches the server: a record holds at most one lock, so no list has a next page, "
      .. "and zlock-emu ignores a page_token it never issued; nothing observable tells whether it was sent")
  end)

  describe("c:locked", function()
    it("is false for an unlocked record and true with the lock for a locked one", function()
      local rid = org.fresh(e, "Leads")
      local locked, l = c:locked("Leads", rid)
      assert.equals(false, locked)
      assert.is_nil(l)
      local lock = assert(c:lock("Leads", rid, "locked?"))
      locked, l = c:locked("Leads", rid)
      assert.equals(true, locked)
      assert.is_table(l)
      assert.equals(lock.id, l.id)
      assert.equals("locked?", l.Locked_Reason__s)
      assert(c:unlock("Leads", rid, lock.id))
      assert.equals(false, (c:locked("Leads", rid)))
    end)

    it("sees automatic locks too", function()
      local rid, server_lock = org.auto_locked(e)
      local locked, l = c:locked("Deals", rid)
      assert.equals(true, locked)
      assert.equals(server_lock.id, l.id)
      assert.equals("Automatic", l.Lock_Source__s)
    end)
  end)

  describe("c:unlock without a lock id", function()
    it("finds the record's manual lock and removes it", function()
      local rid = org.fresh(e, "Leads")
      local lock = assert(c:lock("Leads", rid, "unlock me"))
      local res, err = c:unlock("Leads", rid)
      assert.is_nil(err)
      assert.is_table(res)
      assert.equals(lock.id, res.id)
      assert.same({}, org.locks(e, "Leads", rid))
      assert.equals(0, #support.state_locks(e, "Leads", rid))
    end)

    it("on an unlocked record is nil, err NOT_LOCKED", function()
      local rid = org.fresh(e, "Leads")
      local res, err = c:unlock("Leads", rid)
      assert.is_nil(res)
      assert.equals("NOT_LOCKED", err.code)
      assert.matches(rid, tostring(err), 1, true)
    end)

    it("leaves an automatic lock alone and says why", function()
      local rid, server_lock = org.auto_locked(e)
      local res, err = c:unlock("Deals", rid)
      assert.is_nil(res)
      assert.is_table(err)
      assert.equals("NOT_ALLOWED", err.code)
      assert.equals(403, err.http_status)
      assert.equals(server_lock.id, org.locks(e, "Deals", rid)[1].id)
    end)
  end)

  describe("module-level functions", function()
    it("zlock.configure{} sets the default client used by zlock.lock/get/update/unlock", function()
      zlock.configure{ api_domain = e.url, access_token = support.emu.ACCESS_TOKEN }
      local rid = org.fresh(e, "Leads")
      local lock = assert(zlock.lock("Leads", rid, "module level"))
      assert.equals(lock.id, org.locks(e, "Leads", rid)[1].id)
      assert.equals("module level", assert(zlock.get("Leads", rid, lock.id)).Locked_Reason__s)
      assert.equals(lock.id, assert(zlock.get("Leads", rid))[1].id)
      assert(zlock.update("Leads", rid, lock.id, "module level, updated"))
      assert.equals("module level, updated", org.locks(e, "Leads", rid)[1].Locked_Reason__s)
      assert(zlock.unlock("Leads", rid, lock.id))
      assert.same({}, org.locks(e, "Leads", rid))
    end)

    it("without configure, the default client comes from ZOHO_* environment variables", function()
      local rid = org.fresh(e, "Leads")
      local out, ok = support.run_lua([[
        local zlock = require "zlock"
        local rid = ]] .. ("%q"):format(rid) .. [[
        local lock = assert(zlock.lock("Leads", rid, "from the environment"))
        local one = assert(zlock.get("Leads", rid, lock.id))
        assert(zlock.update("Leads", rid, lock.id, "env updated"))
        io.write("LOCK=", lock.id, " REASON=", one.Locked_Reason__s, "\n")
      ]], { ZOHO_API_DOMAIN = e.url, ZOHO_ACCESS_TOKEN = support.emu.ACCESS_TOKEN })
      assert.is_true(ok, out)
      local lock_id = out:match("LOCK=(%d+)")
      assert.is_string(lock_id, out)
      assert.matches("REASON=from the environment", out, 1, true)
      local server = org.locks(e, "Leads", rid)
      assert.equals(lock_id, server[1].id)
      assert.equals("env updated", server[1].Locked_Reason__s)
    end)

    it("ZOHO_API_VERSION picks the version in the path (v5 works, v1 does not exist)", function()
      local rid = org.fresh(e, "Leads")
      local code = [[
        local zlock = require "zlock"
        local ok, all, err = pcall(zlock.get, "Leads", ]] .. ("%q"):format(rid) .. [[)
        io.write(ok and all and ("N=" .. #all) or ("ERR=" .. tostring(err or all)), "\n")
      ]]
      local env = { ZOHO_API_DOMAIN = e.url, ZOHO_ACCESS_TOKEN = support.emu.ACCESS_TOKEN, ZOHO_API_VERSION = "v5" }
      local out = support.run_lua(code, env)
      assert.matches("N=0", out, 1, true)
      env.ZOHO_API_VERSION = "v1"
      out = support.run_lua(code, env)
      assert.matches("ERR=", out, 1, true)
    end)
  end)
end)
