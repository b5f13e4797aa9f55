-- Bench policy (bench/bulk_rss.sh): lock every unlocked deal, listed with the records API
-- (page_token past 2,000), at most `params.limit` of them.
return {
  name = "bench: lock every unlocked deal",
  module = "Deals",
  params = { limit = 100000 },
  select = { fields = { "Deal_Name", "Locked__s" } },
  where = function(deal, ctx)
    ctx.seen = (ctx.seen or 0) + 1
    return deal.Locked__s ~= true and ctx.seen <= tonumber(ctx.params.limit)
  end,
  action = "lock",
  reason = "bench rss",
}
