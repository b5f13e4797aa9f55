/* budget_script.c - the fleet budget's one Redis script (run by EVALSHA, atomically, on
 * Redis's clock): in-flight slots for a whole org, shared by every process and host. The C
 * core (budget.c) and the Lua transports (core.budget_script()) run this same text.
 *
 * KEYS: [1] state hash, [2] holders hash (holder -> "<slots> <demand> <class> <granted ever>"),
 *       [3] leases (sorted set: holder -> expiry, Redis ms).
 * ARGV: [1] holder, [2] class ("i": one call at a time, goes first; "b": bulk item),
 *       [3] slots wanted now (-1: the holder leaves), [4] lease ms, [5] given limit (0: learn),
 *       [6] most slots this holder may use, [7] reserve (share of the limit bulk work leaves to
 *       interactive calls while some were seen in the last 30 s), [8] initial window,
 *       [9] decrease factor, [10] probe windows, then per slot given back: seq, level, status
 *       (429: over the limit; 0: no reply, says nothing; other: admitted).
 * Returns { granted, first seq, slots in flight before the grant, limit, limit estimate,
 *           given (1/0), holders, slots in flight after, 429s seen by the fleet }.
 *
 * Rules:
 *   leases    a holder's slots are freed when its lease runs out (a killed process);
 *             every call renews it.
 *   limit     given, or the window learned like the bulk engine's (window.h): slow start,
 *             a cut on a 429 once per overshoot, +1 per window of admitted replies below the
 *             lowest level a 429 met, slower probing above it; growth only on evidence that
 *             the window was limiting someone.
 *   priority  an interactive call takes any free slot; while one waits (it asks again every
 *             few ms; 200 ms without asking ends the wait), bulk holders get nothing; bulk
 *             work leaves `reserve` of the limit free while interactive calls were seen lately.
 *   fairness  bulk holders share what is left by max-min fairness over their demands; a
 *             share's fraction goes in turn, to the holder granted the fewest slots so far. */
#include "budget.h"

const char zl_budget_script[] =
"if redis.replicate_commands then redis.replicate_commands() end\n"
"local t = redis.call('TIME')\n"
"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
"local A = ARGV\n"
"local me, class, more, lease = A[1], A[2], tonumber(A[3]), tonumber(A[4])\n"
"local given, cap, reserve = tonumber(A[5]), tonumber(A[6]), tonumber(A[7])\n"
"local decrease, probe_base = tonumber(A[9]), tonumber(A[10])\n"
"local s = {}\n"
"local raw = redis.call('HGETALL', KEYS[1])\n"
"for i = 1, #raw, 2 do s[raw[i]] = tonumber(raw[i + 1]) end\n"
"local mx = math.max(s.cap or 0, cap)\n"
"local w = s.w or math.min(tonumber(A[8]), mx)\n"
"local est, probe, slow = s.est or 0, s.probe or probe_base, (s.slow or 1) == 1\n"
"local seq, cut, full = s.seq or 0, s.cut or 0, s.full or 0\n"
"local iseen, iwait, thr = s.iseen or 0, s.iwait or 0, s.thr or 0\n"
"local dead = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)\n"
"for _, h in ipairs(dead) do redis.call('HDEL', KEYS[2], h) end\n"
"if #dead > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now) end\n"
"local hs, total, ti, tb, nh = {}, 0, 0, 0, 0\n"
"raw = redis.call('HGETALL', KEYS[2])\n"
"for i = 1, #raw, 2 do\n"
"  local n, d, c, g = string.match(raw[i + 1], '^(%d+) (%d+) (%a) (%d+)$')\n"
"  if n then\n"
"    local h = { n = tonumber(n), d = tonumber(d), c = c, g = tonumber(g) }\n"
"    hs[raw[i]] = h\n"
"    total = total + h.n\n"
"    if c == 'i' then ti = ti + h.n else tb = tb + h.n end\n"
"    nh = nh + 1\n"
"  end\n"
"end\n"
"local mine = hs[me]\n"
"if not mine then mine = { n = 0, d = 0, c = class, g = 0 }; hs[me] = mine; nh = nh + 1 end\n"
"for i = 11, #A - 2, 3 do\n"
"  local tseq, level, status = tonumber(A[i]), tonumber(A[i + 1]), tonumber(A[i + 2])\n"
"  if mine.n > 0 then\n"
"    mine.n = mine.n - 1\n"
"    total = total - 1\n"
"    if mine.c == 'i' then ti = ti - 1 else tb = tb - 1 end\n"
"  end\n"
"  if status == 429 then\n"
"    thr = thr + 1\n"
"    local e = math.max(level, total + 1) - 1\n"
"    if e < 1 then e = 1 end\n"
"    local before = est\n"
"    if before == 0 or e < before then est = e end\n"
"    if tseq > cut then\n"
"      w = math.max(1, w * decrease)\n"
"      cut = seq\n"
"      slow = false\n"
"      if before > 0 and math.abs(e - before) <= 1 then probe = math.min(256, probe * 2) else probe = probe_base end\n"
"    end\n"
"  elseif status > 0 and full >= tseq then\n"
"    if slow then w = w + 1 elseif w < est then w = w + 1 / w else w = w + 1 / (w * probe) end\n"
"    if w > mx then w = mx end\n"
"    if est > 0 and w >= est + 2 then est = math.floor(w) - 1; probe = probe_base end\n"
"  end\n"
"end\n"
"local limit = given > 0 and given or math.floor(w)\n"
"local granted, before = 0, total\n"
"if more < 0 then\n"
"  hs[me] = nil\n"
"  total = total - mine.n\n"
"  nh = nh - 1\n"
"  redis.call('HDEL', KEYS[2], me)\n"
"  redis.call('ZREM', KEYS[3], me)\n"
"elseif class == 'i' then\n"
"  iseen = now\n"
"  granted = math.max(0, math.min(more, limit - total))\n"
"  if granted < more then iwait = now + 200 else iwait = 0 end\n"
"  if total + granted >= limit then full = seq + granted end\n"
"else\n"
"  local rsv = 0\n"
"  if now - iseen < 30000 then rsv = math.ceil(limit * reserve) end\n"
"  local cb = limit - math.max(rsv, ti)\n"
"  if cb < 1 and ti == 0 then cb = 1 end\n"
"  mine.d = math.min(mine.n + more, cap)\n"
"  if more > 0 and iwait < now then\n"
"    local ds = {}\n"
"    for _, h in pairs(hs) do if h.c == 'b' and h.d > 0 then ds[#ds + 1] = h.d end end\n"
"    table.sort(ds)\n"
"    local left, k, level = cb, #ds, nil\n"
"    for _, d in ipairs(ds) do\n"
"      if d > left / k then level = left / k; break end\n"
"      left = left - d\n"
"      k = k - 1\n"
"    end\n"
"    local share = mine.d\n"
"    if level and level < share then\n"
"      share = math.ceil(level)\n"
"      for h, o in pairs(hs) do\n"
"        if h ~= me and o.c == 'b' and o.n < o.d and o.n < share and o.g < mine.g then share = math.floor(level) end\n"
"      end\n"
"    end\n"
"    granted = math.max(0, math.min(more, share - mine.n, cb - tb, limit - total))\n"
"  end\n"
"  if more > 0 and (granted < more or tb + granted >= cb) then full = seq + granted end\n"
"end\n"
"local first = seq + 1\n"
"seq = seq + granted\n"
"total = total + granted\n"
"if hs[me] then\n"
"  mine.n = mine.n + granted\n"
"  mine.g = mine.g + granted\n"
"  if mine.c == 'i' and mine.n == 0 then\n"
"    redis.call('HDEL', KEYS[2], me)\n"
"    redis.call('ZREM', KEYS[3], me)\n"
"  else\n"
"    redis.call('HSET', KEYS[2], me, mine.n .. ' ' .. mine.d .. ' ' .. mine.c .. ' ' .. mine.g)\n"
"    redis.call('ZADD', KEYS[3], now + lease, me)\n"
"  end\n"
"end\n"
"redis.call('HSET', KEYS[1], 'w', tostring(w), 'est', est, 'probe', probe, 'slow', slow and 1 or 0,\n"
"  'seq', seq, 'cut', cut, 'full', full, 'iseen', iseen, 'iwait', iwait, 'thr', thr, 'cap', mx)\n"
"for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], 600000) end\n"
"return { granted, first, before, limit, est, given > 0 and 1 or 0, nh, total, thr }\n";
