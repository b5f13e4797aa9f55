-- What the file token store adds to a fresh client's first call, measured in one process (a
-- `zlock get` process is one fresh client and one call, plus ~50 ms of Lua and libcurl start
-- that would drown the figure). Alternates N clients of each kind:
--   store: refresh flow, file store warm (key hash + reading <key>.token), then one GET
--   none:  the emulator's access token, token_store = "none", then the same GET
-- Usage: lua5.4 bench/token_store_cost.lua EMU_URL RECORD_ID CACHE_DIR [N=500]
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
package.cpath = "build/lua5.4/?.so;" .. package.cpath
local zlock = require "zlock"
local socket = require "socket"
local url, id, dir, n = arg[1], arg[2], arg[3], tonumber(arg[4] or 500)
local store_opts = { accounts_domain = url, client_id = "1000.ZLOCKEMUDEMOCLIENT",
  client_secret = "zlock-emu-demo-client-secret", refresh_token = "1000.zlockemu.demo-refresh-token",
  token_cache_dir = dir }
local none_opts = { api_domain = url, access_token = "1000.zlockemu.demo-access-token", token_store = "none" }

local function one(opts)
  local t0 = socket.gettime()
  local c = assert(zlock.new(opts))
  assert(c:get("Deals", id))
  c:close()
  return socket.gettime() - t0
end
one(store_opts); one(none_opts)            -- warm: the store's entry exists, libcurl is loaded
local s, z = {}, {}
for i = 1, n do
  if i % 2 == 0 then s[#s + 1] = one(store_opts); z[#z + 1] = one(none_opts)
  else z[#z + 1] = one(none_opts); s[#s + 1] = one(store_opts) end
end
table.sort(s); table.sort(z)
local function med(t) return t[(#t + 1) // 2] * 1000 end
print(string.format("per fresh client + first call (median of %d): file store %.3f ms, none %.3f ms, "
  .. "difference %.3f ms (ratio %.3f)", n, med(s), med(z), med(s) - med(z), med(s) / med(z)))

-- The store's own work without the network: a client (key hash) and one read of its entry
-- (c:info() loads it), against the same with token_store = "none".
local function read_only(opts, k)
  local t0 = socket.gettime()
  for _ = 1, k do
    local c = assert(zlock.new(opts))
    c:info()
    c:close()
  end
  return (socket.gettime() - t0) / k * 1000
end
local ro_none = { accounts_domain = url, client_id = store_opts.client_id, client_secret = store_opts.client_secret,
  refresh_token = store_opts.refresh_token, token_store = "none" }
local k = 20 * n
local a, b = read_only(store_opts, k), read_only(ro_none, k)
print(string.format("new client + one read of the stored entry (mean of %d): file store %.4f ms, none %.4f ms, "
  .. "difference %.4f ms", k, a, b, a - b))

