-- Export every lock of the org to CSV (one row per lock): for audits and spreadsheets.
-- Read-only: a dry run and a real run do the same thing.
--
--   zlock run examples/export_locks_csv.lua --param out=locks.csv
--   zlock run examples/export_locks_csv.lua > locks.csv          # out defaults to stdout
return {
  name = "export every lock to CSV",
  params = { out = "-" },
  select = { locks = true },
  action = "report",
  header = "module,record_id,record_name,lock_id,source,locked_time,locked_by,reason",
  row = function(lock, ctx)
    local f = ctx.field
    return ctx.csv(lock.module, lock.record_id, f(lock, "Locked_For__s.name"), lock.id, lock.Lock_Source__s,
                   lock.Locked_Time__s, f(lock, "Locked_By__s.name"), f(lock, "Locked_Reason__s"))
  end,
}
