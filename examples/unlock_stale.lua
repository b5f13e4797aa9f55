-- Remove manual locks older than N days whose reason starts with a prefix (e.g. what a policy
-- locked for the quarter close). Automatic locks are never touched (Zoho refuses anyway).
--
--   zlock run examples/unlock_stale.lua --dry-run --param prefix="Quarter close"
--   ZLOCK_DAYS=7 ZLOCK_PREFIX="last round" zlock run examples/unlock_stale.lua
--
-- Selecting locks costs about one call per locked record (see c:locks); set `module` below to
-- audit one module only.
return {
  name = "unlock manual locks older than N days with a reason prefix",
  params = { days = 30, prefix = "" },
  select = { locks = true },
  where = function(lock, ctx)
    if lock.Lock_Source__s ~= "Manual" then return false end
    local reason = type(lock.Locked_Reason__s) == "string" and lock.Locked_Reason__s or ""
    if reason:sub(1, #ctx.params.prefix) ~= ctx.params.prefix then return false end
    local age = ctx.days_since(lock.Locked_Time__s)
    return age > ctx.params.days, ("manual lock %d days old: %q"):format(age, reason)
  end,
  action = "unlock",
}
