-- Run by spec/hosts/cqueues_spec.lua under LuaJIT (Debian's lua-http): in one cqueues
-- controller, one lock alone, then N locks in N coroutines at once, while a ticker coroutine
-- wakes every 10 ms and records how late it was. Prints one JSON line with the figures.
--   luajit cqueues_scenario.lua API_URL TOKEN TRANSPORT ID1 ID2 ...   (TRANSPORT: auto | curl)
local cqueues = require "cqueues"
local cjson = require "cjson"
local zlock = require "zlock"
local ticker = require "hosts.ticker"

local url, token, transport = arg[1], arg[2], arg[3]
local ids = { select(4, unpack(arg)) }
local cq = cqueues.new()
local out = { late_ms = 0, errors = {} }
local running = true

ticker(cq, out, function() return running end)

cq:wrap(function()
  local c = assert(zlock.new{ api_domain = url, access_token = token, transport = transport })
  out.transport = c._transport and c._transport.name or "curl"
  local t0 = cqueues.monotime()
  local l, err = c:lock("Deals", ids[1], "cqueues one")
  if not l then out.errors[#out.errors + 1] = tostring(err) end
  out.one_s = cqueues.monotime() - t0
  out.late_ms = 0   -- lateness counts from the burst on
  local done = cqueues.new()
  t0 = cqueues.monotime()
  for i = 2, #ids do
    done:wrap(function()
      local lock, e = c:lock("Deals", ids[i], "cqueues many")
      if not lock then out.errors[#out.errors + 1] = tostring(e) end
    end)
  end
  assert(done:loop())
  out.many_s = cqueues.monotime() - t0
  out.n = #ids - 1
  running = false
end)

assert(cq:loop())
print(cjson.encode(out))
