-- Reads zlock-emu's /__emu/state (stdin) and prints up to N ids of unlocked records of MODULE,
-- sorted. Usage: curl -s URL/__emu/state | lua5.4 bench/bulk_ids.lua MODULE N
local cjson = require "cjson"
local module, n = arg[1] or "Deals", tonumber(arg[2] or 1e9)
local st = cjson.decode(io.read("a"))
local ids = {}
for id, locked in pairs(st.records[module] or {}) do
  if locked ~= true then ids[#ids + 1] = id end
end
table.sort(ids)
for i = 1, math.min(n, #ids) do io.write(ids[i], "\n") end
