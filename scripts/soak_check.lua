-- scripts/soak.sh's verdict: reads the emulator's /__emu/state before and after the soak, its
-- /__emu/stats and its saved state file (for the deals' Stage) from WORK, prints the figures
-- and exits 1 unless the end state is exact: every Qualification deal holds exactly one lock,
-- Manual, reason "spec kill <id>" (the policy is spec/bulk/fixtures/lock_qualification.lua);
-- every other lock is the one that was there before.
-- usage: lua5.4 scripts/soak_check.lua WORK KILLS_ASKED KILLS RUNS FAILED_RUNS SECONDS SCRIPT_MINTS
-- lua5.4 scripts/soak_check.lua --run FILE: one line on a `zlock --json run` that did not end clean.
local cjson = require "cjson"

local function load_file(path)
  local f = assert(io.open(path, "rb"))
  local ok, doc = pcall(cjson.decode, f:read("a"))
  f:close()
  return ok and doc or nil
end

if arg[1] == "--run" then
  local s = load_file(arg[2])
  if not s then print("(no JSON summary)"); os.exit(0) end
  local codes = {}
  for _, f in ipairs(s.failures or {}) do codes[f.code or "?"] = (codes[f.code or "?"] or 0) + 1 end
  local parts = {}
  for code, n in pairs(codes) do parts[#parts + 1] = ("%s x%d"):format(code, n) end
  print(("%d locked, %d failed (%s)%s"):format(s.counts.locked or 0, s.counts.failed or 0,
    table.concat(parts, ", "), s.halted and (" halted: " .. tostring(s.halted.code)) or ""))
  os.exit(0)
end

local work, kills_asked, kills, runs, failed_runs, secs, script_mints = table.unpack(arg, 1, 7)
local function load(name) return assert(load_file(work .. "/" .. name), name .. " is not JSON") end

local before, after, stats, state = load("before.json"), load("after.json"), load("stats.json"), load("state.json")
local targets, ntargets, ndeals = {}, 0, 0
for _, m in ipairs(state.modules) do
  if m.api_name == "Deals" then
    ndeals = #m.records
    for _, r in ipairs(m.records) do
      if r.values.Stage == "Qualification" then targets[r.id] = true; ntargets = ntargets + 1 end
    end
  end
end

local function by_record(s)
  local t, n = {}, {}
  for _, l in ipairs(s.locks) do
    t[l.record_id] = l
    n[l.record_id] = (n[l.record_id] or 0) + 1
  end
  return t, n
end
local was = by_record(before)
local now, now_n = by_record(after)

local wrong = {}
local function bad(fmt, ...) if #wrong < 20 then wrong[#wrong + 1] = fmt:format(...) end end
for id in pairs(targets) do
  local l = now[id]
  if not l then bad("deal %s: not locked", id)
  elseif now_n[id] ~= 1 then bad("deal %s: %d locks", id, now_n[id])
  elseif l.source ~= "Manual" or l.reason ~= "spec kill " .. id then
    bad("deal %s: lock %s %s %q is not ours", id, l.lock_id, l.source, l.reason)
  end
end
local others = 0
for id, l in pairs(was) do
  if not targets[id] then
    others = others + 1
    if not now[id] or now[id].lock_id ~= l.lock_id then bad("deal %s: its earlier lock %s changed", id, l.lock_id) end
  end
end
for id in pairs(now) do
  if not targets[id] and not was[id] then bad("deal %s: locked but not a target", id) end
end

local routes = stats.requests or {}
local locks_posted = 0
for _, n in pairs(routes["locks.lock"] or {}) do locks_posted = locks_posted + n end
print(("soak: %d target deals (of %d deals), %d other locks kept; %d kills (asked %d), %d runs, "
       .. "%d resumes that did not end clean; %s s")
  :format(ntargets, ndeals, others, kills, kills_asked, runs, failed_runs, secs))
print(("soak: faults survived: %d injected 500s, %d dropped replies (%d after the change applied), "
       .. "%d 429s (concurrency/credits), %d tokens minted (%d by the runs, on expiry); %d requests, "
       .. "%d lock POSTs")
  :format(stats.faults_500 or 0, stats.drops or 0, stats.drops_after_apply or 0, stats.too_many_requests or 0,
          stats.tokens_minted or 0, (stats.tokens_minted or 0) - tonumber(script_mints), stats.total or 0,
          locks_posted))
if #wrong > 0 then
  for _, w in ipairs(wrong) do print("soak: NOT EXACT: " .. w) end
  os.exit(1)
end
print(("soak: exact: every one of the %d targets holds exactly its one lock; no other lock changed"):format(ntargets))
