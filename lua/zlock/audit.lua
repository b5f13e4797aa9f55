--- The lock audit: locks as display rows, grouped by module, source and age (`zlock locks`).
-- @module zlock.audit
-- @tfield table BUCKETS age buckets of the audit table, `{label, from, to}` in days
local policy = require "zlock.policy"

local M = {}

--- Whole days since an ISO date-time (nil when it is not one), never negative.
-- @tparam string s
-- @tparam[opt] number now
-- @treturn integer|nil
function M.age_days(s, now)
  local t = policy.parse_time(s)
  if not t then return nil end
  return math.max(0, math.floor(((now or os.time()) - t) / 86400))
end

--- A lock (as `c:locks()` yields it) as a display row: `id`, `source`, `time`, `by`, `reason`,
-- `age` ("12d"), `module`, `record_id`, `name` (of the locked record).
-- @tparam table l
-- @tparam[opt] number now
-- @treturn table
function M.row(l, now)
  local by = type(l.Locked_By__s) == "table" and l.Locked_By__s.name or ""
  local reason = type(l.Locked_Reason__s) == "string" and l.Locked_Reason__s or ""
  local age = M.age_days(l.Locked_Time__s, now)
  local for_ = type(l.Locked_For__s) == "table" and l.Locked_For__s.name or ""
  return { id = l.id, source = l.Lock_Source__s or "?", time = l.Locked_Time__s, by = by, reason = reason,
           age = age and (age .. "d") or "?", module = l.module, record_id = l.record_id, name = for_ }
end

-- Age buckets of the audit table: label, from, to (days). (Documented as a field above: LDoc
-- takes a documented table's array entries for errors.)
M.BUCKETS = { { "<1d", 0, 0 }, { "1-7d", 1, 7 }, { "8-30d", 8, 30 }, { ">30d", 31, math.huge } }

--- Groups lock rows by module and source with age buckets (the audit table's rows).
-- @tparam table rows lock rows (`module`, `source`, `age` like "12d")
-- @treturn table
function M.groups(rows)
  local groups, order = {}, {}
  for _, r in ipairs(rows) do
    local k = (r.module or "?") .. "\0" .. r.source
    local g = groups[k]
    if not g then
      g = { module = r.module or "?", source = r.source, locks = 0, oldest = -1 }
      for _, b in ipairs(M.BUCKETS) do g[b[1]] = 0 end
      groups[k] = g
      order[#order + 1] = g
    end
    g.locks = g.locks + 1
    local d = tonumber((r.age or ""):match("^(%d+)d$"))
    if d then
      for _, b in ipairs(M.BUCKETS) do
        if d >= b[2] and d <= b[3] then g[b[1]] = g[b[1]] + 1 end
      end
      if d > g.oldest then g.oldest = d end
    end
  end
  table.sort(order, function(x, y)
    if x.module ~= y.module then return x.module < y.module end
    return x.source < y.source
  end)
  for _, g in ipairs(order) do
    g.oldest = g.oldest >= 0 and (g.oldest .. "d") or "?"
    for _, b in ipairs(M.BUCKETS) do if g[b[1]] == 0 then g[b[1]] = "." end end
  end
  return order
end

return M
