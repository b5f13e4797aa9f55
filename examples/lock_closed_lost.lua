-- Lock every Closed Lost deal whose closing date is more than N days ago, so nobody edits a
-- deal the quarter's numbers already count.
--
--   zlock run examples/lock_closed_lost.lua --dry-run            # the plan, nothing changes
--   zlock run examples/lock_closed_lost.lua --param days=60 --journal closed-lost.journal
--   ZLOCK_DAYS=60 zlock run examples/lock_closed_lost.lua        # same, from the environment
--
-- Deals that are already locked (by the org's automatic rule, or by hand) are left as they are.
-- The reason depends only on the deal, so an interrupted run resumes exactly (see zlock.bulk).
return {
  name = "lock Closed Lost deals older than N days",
  module = "Deals",
  params = { days = 30 },
  select = {
    criteria = "(Stage:equals:Closed Lost)",
    fields = { "Deal_Name", "Stage", "Closing_Date", "Amount", "Owner", "Locked__s" },
  },
  where = function(deal, ctx)
    if deal.Locked__s == true then return false end
    local age = ctx.days_since(deal.Closing_Date)
    return age > ctx.params.days, ("closed %d days ago (> %d)"):format(age, ctx.params.days)
  end,
  action = "lock",
  reason = "Closed Lost on ${Closing_Date}: locked by policy lock_closed_lost",
}
