-- The journal of `zlock run`, as a real process against zlock-emu: a full disk fails the run
-- loudly (and a rerun on the freed disk ends exact), one write(2) per line, one run at a time
-- (flock), a journal bound to its policy, unknown outcomes and torn lines not counted as done.
local S = require "bulk.support"
local cjson = require "cjson.safe"
local journal = require "zlock.journal"
local policy = require "zlock.policy"

local POLICY = "spec/bulk/fixtures/lock_qualification.lua"
local q = S.quote

local function sh(cmd)
  local ok, _, code = os.execute(cmd)
  return ok == true or code == 0
end

-- Lines of a file that decode as JSON objects with a key (journal entries).
local function entries(path)
  local n, bad = 0, 0
  for line in S.slurp(path):gmatch("([^\n]*)\n") do
    local e = cjson.decode(line)
    if type(e) == "table" and e.key then
      n = n + 1
    elseif not (type(e) == "table" and e.zlock_journal) then
      bad = bad + 1
    end
  end
  return n, bad
end

describe("zlock run journal", function()
  local e

  lazy_setup(function()
    e = S.start{ "--records", "Deals=600" }
  end)

  lazy_teardown(function()
    if e then e:stop() end
  end)

  before_each(function() e:reset() end)

  local function targets()
    local want, n = {}, 0
    for _, d in ipairs(S.records(e, "Deals", "Stage")) do
      if d.Stage == "Qualification" then want[d.id] = true; n = n + 1 end
    end
    return want, n
  end

  -- Every target holds exactly the policy's lock, and nothing else was locked.
  local function check_exact(want, n, before)
    local after, by = S.locks(e)
    assert.equals(before + n, #after)
    for id in pairs(want) do
      assert.is_table(by[id], "deal " .. id .. " is not locked")
      assert.equals(1, #by[id])
      assert.equals("spec kill " .. id, by[id][1].reason)
    end
  end

  local function crm_calls()
    return S.route_count(e, "records.list") + S.route_count(e, "locks.lock")
  end

  it("fails loudly on a full disk and resumes exactly once there is room", function()
    local want, n = targets()
    assert.is_true(n > 80, "the seeded org has " .. n .. " Qualification deals")
    local before = #e:state().locks
    -- a real full disk: an 8 KiB tmpfs (~70 journal lines) when this process may mount one,
    -- else a file size limit (write(2) then fails with EFBIG, SIGXFSZ ignored)
    local dir = os.tmpname()
    os.remove(dir)
    assert(sh("mkdir -p " .. q(dir)))
    local tmpfs = sh("mount -t tmpfs -o size=8k zlock-spec " .. q(dir) .. " 2>/dev/null")
    print("# full disk: " .. (tmpfs and "an 8 KiB tmpfs" or "ulimit -f 16 (no mount permission)"))
    local jf = dir .. "/run.journal"
    local outf, errf = os.tmpname(), os.tmpname()
    local cmd = S.env(e) .. " bin/zlock run " .. q(POLICY) .. " --journal " .. q(jf) .. " --no-progress"
      .. " >" .. q(outf) .. " 2>" .. q(errf) .. " </dev/null"
    if not tmpfs then cmd = "sh -c " .. q("trap '' XFSZ; ulimit -f 16; exec " .. cmd) end
    local ok = sh(cmd)
    local err = S.slurp(errf)
    assert.is_false(ok, "a run whose journal could not be written exited 0: " .. err)
    assert.matches("cannot write journal", err, 1, true)
    assert.matches(tmpfs and "No space left on device" or "File too large", err, 1, true)
    assert.matches("Stopped sending after JOURNAL", S.slurp(outf), 1, true)
    local written = entries(jf)
    assert.is_true(written > 10 and written < n, "journal lines: " .. written)

    -- room again: the rerun skips what the journal holds and does the rest, exactly
    if tmpfs then assert(sh("mount -o remount,size=1m " .. q(dir))) end
    local _, code, err2 = S.zlock(e, { "run", POLICY, "--journal", jf, "--no-progress" })
    assert.equals(0, code, err2)
    check_exact(want, n, before)
    local done, bad = entries(jf)
    assert.is_true(done >= n, "journal entries after the rerun: " .. done)
    assert.is_true(bad <= 1, "lines that are not entries: " .. bad)   -- at most the torn one
    os.remove(outf); os.remove(errf)
    if tmpfs then sh("umount " .. q(dir)) end
    sh("rm -rf " .. q(dir))
  end)

  it("writes each journal line with one write(2)", function()
    if not sh("command -v strace >/dev/null 2>&1") then
      pending("strace is not installed")
      return
    end
    local _, n = targets()
    local jf, trace = os.tmpname(), os.tmpname()
    os.remove(jf)
    assert(sh("strace -f -qq -s 4096 -e trace=write -o " .. q(trace) .. " " .. S.env(e) .. " bin/zlock run "
      .. q(POLICY) .. " --journal " .. q(jf) .. " --no-progress >/dev/null 2>&1 </dev/null"))
    local whole, partial = 0, 0
    for line in S.slurp(trace):gmatch("[^\n]+") do
      local data = line:match('write%(%d+, "(.*)", %d+%)')
      if data and data:find('\\"key\\":', 1, true) then
        if data:sub(1, 1) == "{" and data:sub(-3) == "}\\n" and not data:sub(1, -3):find("\\n", 1, true) then
          whole = whole + 1
        else
          partial = partial + 1
        end
      elseif data == "\\n" then
        partial = partial + 1
      end
    end
    assert.equals(0, partial)
    assert.equals(n, whole)
    os.remove(jf); os.remove(trace)
  end)

  it("refuses a second run on a journal in use, before any request", function()
    local slow = S.start{ "--records", "Deals=600", "--latency", "50" }
    local ok, msg = pcall(function()
      local _, n = targets()
      local jf = os.tmpname()
      os.remove(jf)
      local first = S.spawn(slow, { "run", POLICY, "--journal", jf, "--no-progress", "--concurrency", "2" })
      assert.is_true(S.wait_for(function() return entries(jf) >= 3 or not S.alive(first.pid) end, 30))
      assert.is_true(S.alive(first.pid), "the first run ended too soon: " .. S.slurp(first.err))
      local _, code, err = S.zlock(slow, { "run", POLICY, "--journal", jf, "--no-progress" })
      assert.is_true(S.alive(first.pid), "the first run ended before the second was refused")
      assert.is_true(code ~= 0)
      assert.matches("is locked by another process", err, 1, true)
      assert.is_true(S.wait_for(function() return not S.alive(first.pid) end, 120))
      -- the second run sent no lock: each target was locked once, by the first
      assert.equals(n, S.route_count(slow, "locks.lock"))
      local done, bad = entries(jf)
      assert.equals(n, done)
      assert.equals(0, bad)
      os.remove(jf); os.remove(first.out); os.remove(first.err)
    end)
    slow:stop()
    assert(ok, msg)
  end)

  it("refuses a journal written for another policy, before any request", function()
    local jf = os.tmpname()
    os.remove(jf)
    local _, code, err = S.zlock(e, { "run", POLICY, "--journal", jf, "--no-progress" })
    assert.equals(0, code, err)
    e:reset()
    local other = S.tmpfile((S.slurp(POLICY):gsub('name = "[^"]*"', 'name = "spec: another policy"')), ".lua")
    local calls, locks = crm_calls(), #e:state().locks
    for _, extra in ipairs{ {}, { "--dry-run" } } do
      local args = { "run", other, "--journal", jf, "--no-progress" }
      for _, a in ipairs(extra) do args[#args + 1] = a end
      _, code, err = S.zlock(e, args)
      assert.is_true(code ~= 0, "a journal of another policy was accepted")
      assert.matches('belongs to policy "spec: lock Qualification deals"', err, 1, true)
      assert.matches('not to policy "spec: another policy"', err, 1, true)
    end
    assert.equals(calls, crm_calls())
    assert.equals(locks, #e:state().locks)
    os.remove(jf); os.remove(other)
  end)

  it("does not count an unknown outcome or a torn last line as done", function()
    local want, n = targets()
    local ids = {}
    for id in pairs(want) do ids[#ids + 1] = id end
    table.sort(ids)
    local id = journal.identity(assert(policy.load(POLICY)))
    local lines = { cjson.encode{ zlock_journal = 1, policy = id } }
    for i = 1, 10 do lines[#lines + 1] = cjson.encode{ key = "lock|Deals|" .. ids[i], outcome = "locked", at = 1 } end
    for i = 11, 20 do lines[#lines + 1] = cjson.encode{ key = "lock|Deals|" .. ids[i], outcome = "frobbed", at = 1 } end
    local jf = S.tmpfile(table.concat(lines, "\n") .. '\n{"key":"lock|Deals|' .. ids[21] .. '","outcome":"lo')
    local before = #e:state().locks
    local _, code, err = S.zlock(e, { "run", POLICY, "--journal", jf, "--no-progress" })
    assert.equals(0, code, err)
    local after, by = S.locks(e)
    -- the ten journaled as locked were skipped; every other target, the unknown outcomes and
    -- the torn line's included, was locked once
    assert.equals(before + n - 10, #after)
    for i, rid in ipairs(ids) do
      if i <= 10 then
        assert.is_nil(by[rid], "deal " .. rid .. " journaled as done was locked again")
      else
        assert.is_table(by[rid], "deal " .. rid .. " was skipped")
        assert.equals(1, #by[rid])
      end
    end
    local done = entries(jf)
    assert.equals(20 + (n - 10), done)   -- the torn line is not an entry
    os.remove(jf)
  end)
end)
