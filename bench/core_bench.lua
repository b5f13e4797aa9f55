--- bench/core_bench.lua: the core's performance figures, measured against zlock-emu (not tests;
-- prints figures, no pass/fail on timing). Run through bench/core_bench.sh, which builds first.
--
--   (a) connections: one client, N sequential c:get calls, connect() calls counted by strace
--   (b) client CPU per call: zlock (bench/core_calls.lua) vs a plain C libcurl loop
--       (bench/core_curl_loop.c), same requests, same emulator, median of ROUNDS runs each
--   (c) `require "zlock"` time: hyperfine, `LUA -e 'require"zlock"'` vs `LUA -e ''`
local emu = require "helpers.emu"
local org = require "helpers.emu_org"
local cjson = require "cjson"

local LUA = os.getenv("ZLOCK_LUA") or "lua5.4"
local N = tonumber(os.getenv("N") or "1000")
local ROUNDS = tonumber(os.getenv("ROUNDS") or "3")
local CURL_LOOP = "build/bench/core_curl_loop"
local ENV = ("LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' LUA_CPATH='build/%s/?.so;;' "):format(LUA)

local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("*a")
  local ok = p:close()
  return out, ok
end

local function median(t)
  table.sort(t)
  return t[math.floor((#t + 1) / 2)]
end

local e = emu.start{ "--seed", "demo" }
local port = e.url:match(":(%d+)$")
local ok, err = pcall(function()
  local get_id = org.fresh(e, "Deals")
  assert(select(2, org.lock(e, "Deals", get_id, "bench: a locked record, so get answers 200 with a body")))
  local lock_id = org.fresh(e, "Leads")

  print(("# zlock core benchmarks, %s, emulator %s, N=%d"):format(LUA, e.url, N))

  -- (a) TCP connections for N sequential calls of one client
  local trace = os.tmpname()
  local out = sh(("%s strace -f -qq -e trace=connect -o %s %s bench/core_calls.lua %s %s get Deals %s %d")
    :format(ENV, trace, LUA, e.url, emu.ACCESS_TOKEN, get_id, N))
  local conns = 0
  for line in io.lines(trace) do
    if line:find("htons(" .. port .. ")", 1, true) then conns = conns + 1 end
  end
  os.remove(trace)
  print(("(a) connections: %d TCP connect() to the emulator for %d sequential get calls (+1 warm-up) [%s]")
    :format(conns, N, out:gsub("\n$", "")))

  -- (b) client CPU per call, zlock vs plain libcurl, same requests
  for _, mode in ipairs{ "get", "lock" } do
    local rid = mode == "get" and get_id or lock_id
    local module = mode == "get" and "Deals" or "Leads"
    local count = mode == "get" and N or math.floor(N / 2)
    local z, c = {}, {}
    for _ = 1, ROUNDS do
      local zo = sh(("%s %s bench/core_calls.lua %s %s %s %s %s %d")
        :format(ENV, LUA, e.url, emu.ACCESS_TOKEN, mode, module, rid, count))
      local co = sh(("%s %s %s %s %s %s %d"):format(CURL_LOOP, e.url, emu.ACCESS_TOKEN, mode, module, rid, count))
      z[#z + 1] = tonumber(zo:match("per_call_us=([%d.]+)")) or error("zlock run failed: " .. zo)
      c[#c + 1] = tonumber(co:match("per_call_us=([%d.]+)")) or error("curl loop failed: " .. co)
    end
    local zm, cm = median(z), median(c)
    print(("(b) client CPU per %s request: zlock %.1f us, plain libcurl %.1f us, ratio %.2fx (median of %d x %d calls)")
      :format(mode, zm, cm, zm / cm, ROUNDS, mode == "get" and count or 2 * count))
  end

  -- (b') the same comparison in instructions (callgrind): (Ir of N calls - Ir of 0 calls) / N, steadier
  -- than CPU time on a shared machine. CALLGRIND=0 skips it.
  if os.getenv("CALLGRIND") ~= "0" then
    local function ir(cmd)
      local file = os.tmpname()
      local log = sh(("%s valgrind --tool=callgrind --callgrind-out-file=%s %s"):format(ENV, file, cmd))
      local f = io.open(file)
      local text = f and f:read("*a") or ""
      if f then f:close() end
      os.remove(file)
      return tonumber(text:match("\nsummary: (%d+)")) or error("callgrind failed: " .. log)
    end
    local n = math.min(N, 300)
    for _, mode in ipairs{ "get", "lock" } do
      local rid = mode == "get" and get_id or lock_id
      local module = mode == "get" and "Deals" or "Leads"
      local zcmd = ("%s bench/core_calls.lua %s %s %s %s %s "):format(LUA, e.url, emu.ACCESS_TOKEN, mode, module, rid)
      local ccmd = ("%s %s %s %s %s %s "):format(CURL_LOOP, e.url, emu.ACCESS_TOKEN, mode, module, rid)
      local requests = mode == "get" and n or 2 * n
      local zi = (ir(zcmd .. n) - ir(zcmd .. 0)) / requests
      local ci = (ir(ccmd .. n) - ir(ccmd .. 0)) / requests
      print(("(b') client instructions per %s request: zlock %.0f, plain libcurl %.0f, ratio %.2fx "
        .. "(callgrind, %d requests)"):format(mode, zi, ci, zi / ci, requests))
    end
  end

  -- (c) require time, with the cost of merely loading libcurl (and its shared libraries) as the peer
  local libcurl = sh("ldconfig -p | awk '/libcurl\\.so\\.4 .*x86-64/ {print $NF; exit}'"):gsub("%s+$", "")
  local json = os.tmpname()
  sh(("%s hyperfine -N --warmup 5 --runs 60 --export-json %s \"%s -e 'require[[zlock]]'\" \"%s -e ''\" "
    .. "\"%s -e 'assert(package.loadlib([[%s]], [[*]]))'\""):format(ENV, json, LUA, LUA, LUA, libcurl))
  local f = assert(io.open(json)); local res = cjson.decode(f:read("*a")); f:close(); os.remove(json)
  local with, without = res.results[1].mean * 1e3, res.results[2].mean * 1e3
  local curl_only = res.results[3].mean * 1e3
  print(("(c) require \"zlock\": %.2f ms (%s -e with require %.2f ms, bare %.2f ms); loading %s alone: %.2f ms "
    .. "(hyperfine means of 60 runs)"):format(with - without, LUA, with, without, libcurl, curl_only - without))
end)
e:stop()
if not ok then io.stderr:write("benchmark failed: ", tostring(err), "\n"); os.exit(1) end
