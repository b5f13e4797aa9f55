-- Record locking configuration as code: `zlock config apply examples/lock_config.lua --dry-run`
-- shows what would change in the org, without --dry-run it is applied (a second apply changes
-- nothing). `zlock config export > prod.lua` writes an org's configuration in this format.
-- Keys are module API names; a module left out is not touched, `false` removes its configuration.
return {
  Deals = {
    lock_type = "both",                        -- manual | automatic | both
    locked_for = "all_profiles",               -- or all_profiles_except_excluded_profiles (+ lock_excluded_profiles)
    restricted_actions = { "update", "delete" },
    excluded_fields = { "Description" },       -- still editable on a locked deal
    locking_rules = {                          -- matched by name; rules of the org not listed here are deleted
      { name = "Lock closed lost deals", lock_existing_records = false,
        criteria = { comparator = "equal", field = { api_name = "Stage" }, value = "Closed Lost" } },
      { name = "Lock big won deals", lock_existing_records = true,
        criteria = { group_operator = "and", group = {
          { comparator = "equal", field = { api_name = "Stage" }, value = "Closed Won" },
          { comparator = "greater_than", field = { api_name = "Amount" }, value = 100000 },
        } } },
    },
  },
  Leads = {
    lock_type = "manual",
    restricted_actions = { "update" },
  },
}
