-- Run by spec/hosts/cqueues_redis_spec.lua under LuaJIT: zlock.cqueues_redis against a real
-- Redis inside a cqueues controller. Prints one JSON line.
--   luajit cqueues_redis_probe.lua ping URL [CA_FILE]   {"reply": ..., "err": ...}
--   luajit cqueues_redis_probe.lua pool URL             50 coroutines x 20 ECHO on one link,
--     then the server drops every connection (CLIENT KILL), then one more command:
--     {"wrong": replies not the coroutine's own, "opened": connections opened, "idle": pooled,
--      "after_kill": reply, "opened_after": connections opened by then, "late_ms": ticker}
local cqueues = require "cqueues"
local cjson = require "cjson"
local cr = require "zlock.cqueues_redis"
local ticker = require "hosts.ticker"

local mode, url, ca_file = arg[1], arg[2], arg[3]
local out = {}

local function pool()
  local link = assert(cr.new(url, { timeout_ms = 2000, connect_timeout_ms = 1000 }))
  local c = link:client()
  local cq, left = cqueues.new(), 50
  out.wrong = 0
  ticker(cq, out, function() return left > 0 end)   -- commands waiting on Redis must not hold the loop
  for i = 1, 50 do
    cq:wrap(function()
      for j = 1, 20 do
        local want = ("%d:%d:%s"):format(i, j, ("x"):rep(i * 37))   -- replies of many sizes
        if c:cmd("ECHO", want) ~= want then out.wrong = out.wrong + 1 end
      end
      left = left - 1
    end)
  end
  assert(cq:loop())
  out.opened, out.idle = link.opened, #link.idle
  -- another connection drops every other client: the pooled ones are closed under the pool
  local admin = assert(cr.new(url, { timeout_ms = 2000 }))
  out.killed = admin:client():cmd("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
  cqueues.sleep(0.1)
  local err
  out.after_kill, err = c:cmd("PING")
  out.after_kill_err = err
  out.opened_after = link.opened
end

local cq = cqueues.new()
cq:wrap(function()
  if mode == "pool" then return pool() end
  local link, err = cr.new(url, { timeout_ms = 2000, connect_timeout_ms = 1000, ca_file = ca_file })
  if not link then out.err = err; return end
  out.reply, out.err = link:client():cmd("PING")
end)
assert(cq:loop())
print(cjson.encode(out))
