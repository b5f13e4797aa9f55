--- Test helper: finds records of the emulator's demo org through Zoho's own APIs
-- (records list, Locking_Information__s, record locking configuration), so specs never
-- hard-code ids. Each picked record is handed out once per emulator process.
local M = {}

M.ALL_FIELDS = "Locked_For__s,Locked_Reason__s,Lock_Source__s,Locked_Time__s,Locked_By__s,"
  .. "Record_Locking_Rule_Id__s,Record_Locking_Configuration_Id__s,Owner,Parent_Id"

local NAME_FIELD = { Deals = "Deal_Name", Leads = "Last_Name", Contacts = "Last_Name",
                     Accounts = "Account_Name", Projects__c = "Name" }

--- Every record of `module` (pages of 200 through `GET /crm/v8/{module}?fields=`).
-- @return list of record tables (at least `id`, the name field, `Stage` for Deals, `Locked__s`)
function M.records(e, module, max_pages)
  local fields = (NAME_FIELD[module] or "Last_Name") .. ",Locked__s" .. (module == "Deals" and ",Stage" or "")
  local out = {}
  for page = 1, max_pages or 10 do
    local res = e:req("GET", ("/crm/v8/%s?fields=%s&per_page=200&page=%d"):format(module, fields, page))
    assert(res, "records list: no response")
    if res.status == 204 then break end
    assert(res.status == 200 and res.json and res.json.data,
      "records list " .. module .. " answered " .. tostring(res.status) .. ": " .. tostring(res.body):sub(1, 300))
    for _, r in ipairs(res.json.data) do out[#out + 1] = r end
    if not (res.json.info and res.json.info.more_records == true) then break end
  end
  return out
end

--- Locks currently on a record (`{}` when the list answers 204).
function M.locks(e, module, id)
  local res = assert(e:req("GET", ("/crm/v8/%s/%s/Locking_Information__s?fields=%s"):format(module, id, M.ALL_FIELDS)))
  if res.status == 204 then return {} end
  assert(res.status == 200 and res.json, "lock list answered " .. res.status .. ": " .. res.body:sub(1, 300))
  return res.json.data
end

--- A record id of `module` not handed out before, not locked, and accepted by `pred(record)`
-- (for Deals, by default, any stage but Closed Lost, which the demo rule locks automatically).
function M.fresh(e, module, pred)
  e._used = e._used or {}
  e._records = e._records or {}
  e._records[module] = e._records[module] or M.records(e, module)
  pred = pred or function(r) return module ~= "Deals" or r.Stage ~= "Closed Lost" end
  for _, r in ipairs(e._records[module]) do
    if not e._used[r.id] and r.Locked__s ~= true and pred(r) then
      e._used[r.id] = true
      if module ~= "Deals" and module ~= "Leads" then return r.id, r end
      if #M.locks(e, module, r.id) == 0 then return r.id, r end
    end
  end
  error("no fresh " .. module .. " record left in the emulator's org")
end

--- Manually locks `module/id`; returns the response and the lock id (nil unless 201).
function M.lock(e, module, id, reason, version)
  local res = e:req("POST", ("/crm/%s/%s/%s/Locking_Information__s"):format(version or "v8", module, id),
    { body = { data = { { Locked_Reason__s = reason or "spec lock" } } } })
  local lock_id = res and res.status == 201 and res.json and res.json.data[1].details.id or nil
  return res, lock_id
end

--- The record locking configuration of `module` (decoded object) or nil when none (204).
function M.config(e, module)
  local res = assert(e:req("GET", "/crm/v8/settings/record_locking_configurations?module=" .. module))
  if res.status == 204 then return nil end
  assert(res.status == 200 and res.json, "configuration GET answered " .. res.status .. ": " .. res.body:sub(1, 300))
  return res.json.record_locking_configurations[1]
end

--- A Deals record carrying an Automatic lock: an already auto-locked Closed Lost deal, or a
-- fresh deal moved to Closed Lost through `PUT /crm/v8/Deals/{id}` (the demo rule locks it).
-- @return record id, lock object
function M.auto_locked(e)
  e._used = e._used or {}
  for _, r in ipairs(M.records(e, "Deals")) do
    if r.Stage == "Closed Lost" and not e._used[r.id] then
      local locks = M.locks(e, "Deals", r.id)
      if locks[1] and locks[1].Lock_Source__s == "Automatic" then
        e._used[r.id] = true
        return r.id, locks[1]
      end
    end
  end
  local id = M.fresh(e, "Deals")
  local res = assert(e:req("PUT", "/crm/v8/Deals/" .. id, { body = { data = { { Stage = "Closed Lost" } } } }))
  assert(res.status == 200, "moving a deal to Closed Lost answered " .. res.status .. ": " .. res.body:sub(1, 300))
  local locks = M.locks(e, "Deals", id)
  assert(locks[1], "a deal moved to Closed Lost got no automatic lock")
  return id, locks[1]
end

return M
