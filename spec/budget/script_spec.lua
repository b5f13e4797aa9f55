-- The fleet budget's rules, as the one Redis script (csrc/budget_script.c, through
-- core.budget()) applies them on a real redis-server: limits, leases, priority, fairness, the
-- learned window. Every zlock holder (C engine, one-at-a-time calls, nginx) runs this script.
local core = require "zlock.core"
local redis = require "helpers.redis"
local socket = require "socket"

describe("the fleet budget's script", function()
  local r, B
  local n = 0

  setup(function()
    r = redis.start()
    B = core.budget()
  end)

  teardown(function()
    if r then r:stop() end
  end)

  local function org()
    n = n + 1
    local k = "zlock:budget:{spec" .. n .. "}"
    return { k .. ":s", k .. ":h", k .. ":l" }
  end

  -- One call: returns granted, first seq, level before, limit, estimate, given, holders, in flight.
  -- o: holder, class ("b"/"i"), more, lease, limit, cap, reserve; gives: { {seq, level, status}, ... }
  local function call(keys, o, gives)
    local args = { "EVAL", B.script, 3, keys[1], keys[2], keys[3], o.holder, o.class or "b", o.more or 0,
      o.lease or 3000, o.limit or 0, o.cap or 10, o.reserve or 0.2, B.initial, B.decrease, B.probe }
    for _, g in ipairs(gives or {}) do
      args[#args + 1] = g[1]; args[#args + 1] = g[2]; args[#args + 1] = g[3]
    end
    local out = r:cli(table.unpack(args))
    local v = {}
    for num in out:gmatch("%-?%d+") do v[#v + 1] = tonumber(num) end
    assert(#v == 9, "unexpected reply: " .. out)
    return { granted = v[1], first = v[2], before = v[3], limit = v[4], est = v[5], given = v[6] == 1,
             holders = v[7], total = v[8], throttled = v[9] }
  end

  -- Tickets of a reply (seq, level) with a status, to give back.
  local function back(rep, status, count)
    local t = {}
    for k = 1, count or rep.granted do t[#t + 1] = { rep.first + k - 1, rep.before + k, status } end
    return t
  end

  it("never grants beyond a given limit, whoever asks", function()
    local k = org()
    local a = call(k, { holder = "a", more = 7, limit = 10 })
    local b = call(k, { holder = "b", more = 7, limit = 10 })
    assert.equal(7, a.granted)
    assert.equal(3, b.granted)
    assert.equal(10, b.total)
    assert.is_true(b.given)
    assert.equal(0, call(k, { holder = "c", more = 1, limit = 10 }).granted)
    -- a gives two back: b takes one, the other is c's (it waits for one: its fair share)
    call(k, { holder = "a", more = 0, limit = 10 }, back(a, 200, 2))
    assert.equal(1, call(k, { holder = "b", more = 5, limit = 10 }).granted)
    assert.equal(1, call(k, { holder = "c", more = 1, limit = 10 }).granted)
    assert.equal(0, call(k, { holder = "b", more = 5, limit = 10 }).granted)
  end)

  it("frees a dead holder's slots when its lease runs out, and at once when it leaves", function()
    local k = org()
    assert.equal(10, call(k, { holder = "dead", more = 10, limit = 10, lease = 300 }).granted)
    assert.equal(0, call(k, { holder = "live", more = 5, limit = 10 }).granted)
    socket.sleep(0.4)
    local rep = call(k, { holder = "live", more = 5, limit = 10 })
    assert.equal(5, rep.granted)
    assert.equal(1, rep.holders)
    call(k, { holder = "live", more = -1, limit = 10 })
    assert.equal(10, call(k, { holder = "next", more = 10, limit = 10 }).granted)
  end)

  it("shares between bulk holders by their demands, the fraction in turn", function()
    local k = org()
    local a = call(k, { holder = "a", more = 10, limit = 10 })
    assert.equal(10, a.granted)
    -- b wants 10 too: a, giving back one at a time and asking again, shrinks to its half
    assert.equal(0, call(k, { holder = "b", more = 10, limit = 10 }).granted)
    local held_a, held_b = 10, 0
    for i = 1, 10 do
      local ra = call(k, { holder = "a", more = 1, limit = 10 }, { { a.first + i - 1, i, 200 } })
      held_a = held_a - 1 + ra.granted
      held_b = held_b + call(k, { holder = "b", more = 10 - held_b, limit = 10 }).granted
    end
    assert.equal(5, held_a)
    assert.equal(5, held_b)
    -- a small demand is met in full: c wants 1, takes the first slot that frees
    local c = call(k, { holder = "c", more = 1, limit = 10 })
    if c.granted == 0 then
      call(k, { holder = "a", more = 0, limit = 10 }, { { 1, 1, 200 } })
      c = call(k, { holder = "c", more = 1, limit = 10 })
    end
    assert.equal(1, c.granted)
  end)

  it("puts interactive calls first: a waiting one stops bulk grants, a reserve is kept", function()
    local k = org()
    assert.equal(10, call(k, { holder = "bulk", more = 10, limit = 10 }).granted)
    -- full: an interactive call waits, and while it waits bulk work gets nothing
    assert.equal(0, call(k, { holder = "web", class = "i", more = 1, limit = 10 }).granted)
    local rel = call(k, { holder = "bulk", more = 1, limit = 10 }, { { 1, 1, 200 } })
    assert.equal(0, rel.granted)
    assert.equal(1, call(k, { holder = "web", class = "i", more = 1, limit = 10 }).granted)
    -- interactive calls were seen: bulk work leaves 20% of the limit free
    call(k, { holder = "web", class = "i", more = 0, limit = 10 }, { { 11, 10, 200 } })
    for s = 2, 4 do call(k, { holder = "bulk", more = 0, limit = 10 }, { { s, s, 200 } }) end
    -- bulk holds 6 now; it may go back to 8 (10 - reserve of 2), not 10
    assert.equal(2, call(k, { holder = "bulk", more = 4, limit = 10 }).granted)
    assert.equal(2, call(k, { holder = "web2", class = "i", more = 2, limit = 10 }).granted)
  end)

  it("learns the limit: slow start, one cut per overshoot, the estimate from the refused level", function()
    local k = org()
    local o = { holder = "a", cap = 40 }
    local rep = call(k, { holder = "a", cap = 40, more = 40 })
    assert.equal(B.initial, rep.granted)          -- slow start from the initial window
    assert.is_false(rep.given)
    -- every reply admitted while the window was full: +1 each (slow start)
    o.more = 40
    local r2 = call(k, o, back(rep, 200))
    assert.equal(2 * B.initial, r2.limit)
    -- two 429s from the same overshoot cut once
    local r3 = call(k, { holder = "a", cap = 40, more = 0 }, back(r2, 429, 2))
    assert.equal(math.floor(2 * B.initial * B.decrease), r3.limit)
    assert.equal(2, r3.throttled)
    assert.is_true(r3.est >= 1 and r3.est < 2 * B.initial)
  end)
end)
