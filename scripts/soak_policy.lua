-- The soak's policy (scripts/soak.sh): lock every Qualification deal with a reason that depends
-- only on the deal, records already locked included, so a run after a kill meets the locks its
-- killed predecessor left in flight and must reconcile them.
return {
  name = "soak: lock Qualification deals",
  module = "Deals",
  select = { fields = { "Deal_Name", "Stage" } },
  where = function(deal) return deal.Stage == "Qualification" end,
  action = "lock",
  reason = "soak ${id}",
}
