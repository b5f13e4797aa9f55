-- A lua-http server on cqueues (LuaJIT) for spec/hosts/cqueues_redis_spec.lua: one zlock client
-- built from the environment (`zlock.env_options`: ZLOCK_REDIS_URL, ZLOCK_ORG_LIMIT, ...) on
-- first use, and one route:
--   POST /burst {"op": "lock" | "unlock", "ids": [...]}: one call per id, each in its own
--   coroutine, all at once, while a ticker coroutine wakes every 10 ms; answers
--   {"transport": name, "errors": [...], "late_ms": worst ticker lateness, "ms": the burst's time}
--   luajit spec/hosts/cqueues_fleet.lua PORT
local cqueues = require "cqueues"
local server = require "http.server"
local headers = require "http.headers"
local cjson = require "cjson"
local zlock = require "zlock"
local ticker = require "hosts.ticker"

local client
local lock_ids = {}   -- record id -> lock id, for the unlocks

local function burst(req)
  if not client then client = assert(zlock.new(zlock.env_options{ ca_file = os.getenv("FLEET_CA_FILE") })) end
  local out = { transport = client._transport and client._transport.name or "curl", errors = {}, late_ms = 0 }
  local cq, left = cqueues.new(), #req.ids
  ticker(cq, out, function() return left > 0 end)
  local t0 = cqueues.monotime()
  for _, id in ipairs(req.ids) do
    cq:wrap(function()
      local res, err
      if req.op == "lock" then
        res, err = client:lock("Deals", id, "cqueues fleet")
        if res then lock_ids[id] = res.id end
      else
        res, err = client:unlock("Deals", id, lock_ids[id])
      end
      if not res then out.errors[#out.errors + 1] = id .. ": " .. tostring(err) end
      left = left - 1
    end)
  end
  assert(cq:loop())
  out.ms = (cqueues.monotime() - t0) * 1000
  return out
end

local s = assert(server.listen{
  host = "127.0.0.1", port = tonumber(arg[1]),
  onstream = function(_, stream)
    assert(stream:get_headers())
    local ok, out = pcall(burst, cjson.decode(stream:get_body_as_string()))
    local h = headers.new()
    h:append(":status", ok and "200" or "500")
    h:append("content-type", "application/json")
    assert(stream:write_headers(h, false))
    assert(stream:write_chunk(ok and cjson.encode(out) or tostring(out), true))
  end,
})
assert(s:listen())
io.stdout:write("listening\n")
io.stdout:flush()
assert(s:loop())
