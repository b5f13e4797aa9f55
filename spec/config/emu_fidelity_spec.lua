-- zlock-emu as Zoho answers, seen through the Lua client: times carry the user's time zone
-- offset and parse to the same instant, and automatic locks can come after the change that
-- triggers them (--auto-lock-delay), so a later c:locked finds them.
local S = require "bulk.support"
local policy = require "zlock.policy"

local STANDARD_TOKEN = "1000.zlockemu.standard-user-token"

describe("times with the user's offset", function()
  local e, c, std

  lazy_setup(function()
    e = S.start()
    c = S.client(e)
    std = S.client(e, { access_token = STANDARD_TOKEN })
  end)
  lazy_teardown(function()
    if std then std:close() end
    if c then c:close() end
    if e then e:stop() end
  end)

  it("carry each user's offset and parse to the same instant", function()
    local id = S.unlocked(e, "Deals")[1]
    local before = os.time()
    local lock = assert(c:lock("Deals", id, "offset check"))
    assert.matches("%-04:00$", lock.details.Created_Time)
    local mine = assert(c:get("Deals", id, lock.id)).Locked_Time__s
    local theirs = assert(std:get("Deals", id, lock.id)).Locked_Time__s
    assert.matches("%-04:00$", mine)
    assert.matches("%+05:30$", theirs)
    local t1, t2 = policy.parse_time(mine), policy.parse_time(theirs)
    assert.equals(t1, t2)
    assert.is_true(t1 >= before - 2 and t1 <= os.time() + 2, mine .. " is now")
    assert.equals(0, require("zlock.audit").age_days(mine))
    assert(c:unlock("Deals", id, lock.id))
  end)
end)

describe("lock replies", function()
  local e, c

  lazy_setup(function()
    e = S.start()
    c = S.client(e)
  end)
  lazy_teardown(function()
    if c then c:close() end
    if e then e:stop() end
  end)

  it("carry Owner, Parent_Id and Created_* only when fields asks for them", function()
    local id = S.unlocked(e, "Deals")[1]
    local lock = assert(c:lock("Deals", id, "keys check"))
    local one = assert(c:get("Deals", id, lock.id))
    assert.equals("Manual", one.Lock_Source__s)
    assert.equals("keys check", one.Locked_Reason__s)
    for _, k in ipairs{ "Owner", "Parent_Id", "Created_Time", "Modified_Time", "Created_By", "Modified_By" } do
      assert.is_nil(one[k], k .. " not asked for")
    end
    local asked = assert(c:get("Deals", id, lock.id, { fields = { "Owner", "Parent_Id", "Created_Time" } }))
    assert.is_table(asked.Owner)
    assert.equals(id, asked.Parent_Id.id)
    assert.matches("%-04:00$", asked.Created_Time)
    local list = assert(c:get("Deals", id, { fields = "Lock_Source__s" }))
    assert.is_nil(list[1].Owner)
    assert.is_nil(list[1].Locked_Reason__s)
    assert(c:unlock("Deals", id, lock.id))
  end)
end)

describe("--auto-lock-delay", function()
  local e, c

  lazy_setup(function()
    e = S.start{ "--auto-lock-delay", "1500" }
    c = S.client(e)
  end)
  lazy_teardown(function()
    if c then c:close() end
    if e then e:stop() end
  end)

  it("locks a record matching an automatic rule after the delay, not inside the request", function()
    local id = S.unlocked(e, "Deals")[1]
    local doc, status = c:request("PUT", "Deals/" .. id, { body = { data = { { Stage = "Closed Lost" } } } })
    assert.equals(200, status, tostring(doc))
    local now_locked, err = c:locked("Deals", id)
    assert.is_false(now_locked, "not yet locked right after the change: " .. tostring(err))
    local lock
    assert.is_true(S.wait_for(function()
      local locked, l = c:locked("Deals", id)
      lock = l
      return locked == true
    end, 10), "locked after the delay")
    assert.equals("Automatic", lock.Lock_Source__s)
  end)
end)
