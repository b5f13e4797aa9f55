--- Request logging: the `on_request` / `on_response` hooks and `log` option of `zlock.new`.
--
-- Every HTTP request a client makes (retries and token refreshes included) is reported twice:
-- `on_request(info)` before it is sent, `on_response(info)` when its reply (or its transport
-- failure) came. `info` holds `operation` (`lock`, `get`, `request`...), `module`, `record_id`,
-- `method`, `path` (path and query; no query for the token endpoint), `attempt` (1, 2... of the
-- operation; `"token"` for an OAuth refresh) and, in `on_response`, `status` (0 when no reply),
-- `ms`, `error` (`connect`, `timeout`, `closed`, `tls`, `too_large`, `other`) and `request_id`
-- (the reply's `X-Request-Id`, when there is one). Never a header, a body, a token or a secret.
-- `log = "debug"` (or `ZLOCK_LOG=debug`) writes one line per request and reply on stderr;
-- `log = function(line)` receives those lines instead. The bulk engine (C, libcurl multi) does not
-- call the hooks: its results carry `attempts` per item.
-- @module zlock.log
local M = {}

--- What of a URL may be logged: its path and query (no query for the token endpoint, whose
-- parameters may carry secrets).
-- @tparam string url
-- @tparam[opt] boolean token_request
-- @treturn string
function M.path(url, token_request)
  local path = url:match("^%a[%w+.%-]*://[^/]*(/.*)$") or url
  if token_request then path = path:gsub("%?.*$", "") end
  return path
end

local function line(info)
  local head = ("zlock: %s %s%s"):format(info.method or "?", info.path or "?",
    info.module and (" (" .. info.operation .. " " .. info.module .. "/" .. tostring(info.record_id) .. ")")
    or (" (" .. tostring(info.operation) .. ")"))
  local attempt = info.attempt == "token" and "token refresh" or ("attempt " .. tostring(info.attempt))
  if info.status == nil and info.error == nil then return head .. " " .. attempt .. " ->" end
  local got = info.error and (info.error .. " error") or tostring(info.status)
  return ("%s %s <- %s in %d ms%s"):format(head, attempt, got, info.ms or 0,
    info.request_id and (" request-id " .. info.request_id) or "")
end

--- The logger of a client, from `zlock.new`'s options (nil when nothing logs).
-- @tparam table opts `on_request`, `on_response` (functions), `log` (`"debug"`, `"off"`, or a
--  function receiving each line)
-- @treturn table|nil `{request = function(info), response = function(info)}`
function M.new(opts)
  local on_req, on_resp, log = opts.on_request, opts.on_response, opts.log
  for k, v in pairs{ on_request = on_req, on_response = on_resp } do
    if v ~= nil and type(v) ~= "function" then error("bad argument #1 to 'new' (" .. k .. " must be a function)", 3) end
  end
  local write
  if log == "debug" then
    write = function(s) io.stderr:write(s, "\n") end
  elseif type(log) == "function" then
    write = log
  elseif log ~= nil and log ~= "off" and log ~= "" then
    error("bad argument #1 to 'new' (log must be \"debug\", \"off\" or a function)", 3)
  end
  if not (on_req or on_resp or write) then return nil end
  return {
    request = function(info)
      if write then write(line(info)) end
      if on_req then on_req(info) end
    end,
    response = function(info)
      if write then write(line(info)) end
      if on_resp then on_resp(info) end
    end,
  }
end

--- A clock in seconds for the durations of transports driven from Lua (nginx's when there).
-- @treturn number
function M.now()
  local ngx = rawget(_G, "ngx")
  if ngx and ngx.now then ngx.update_time(); return ngx.now() end
  return require("zlock.progress").clock()
end

return M
