-- Lock the deals in Negotiation/Review while terms are being agreed, with a reason that names
-- the deal's owner (the person to ask before anything changes).
--
--   zlock run examples/lock_negotiation.lua --dry-run
--   zlock run examples/lock_negotiation.lua --param min_amount=10000
return {
  name = "lock deals in Negotiation/Review (reason names the owner)",
  module = "Deals",
  params = { min_amount = 0 },
  select = {
    criteria = "(Stage:equals:Negotiation/Review)",
    fields = { "Deal_Name", "Stage", "Amount", "Owner", "Locked__s" },
  },
  where = function(deal, ctx)
    if deal.Locked__s == true then return false end
    local amount = tonumber(deal.Amount) or 0
    return amount >= ctx.params.min_amount, ("in Negotiation/Review, amount %s"):format(tostring(deal.Amount))
  end,
  action = "lock",
  reason = function(deal)
    local owner = type(deal.Owner) == "table" and deal.Owner.name or "the deal owner"
    return ("In negotiation: terms are being agreed. Ask %s before changing this deal."):format(owner)
  end,
}
