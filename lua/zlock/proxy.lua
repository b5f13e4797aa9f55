--- Which proxy a request goes through, as libcurl picks it, so that a failure to reach it can
-- say so: the client's `proxy` option, else `https_proxy` / `HTTPS_PROXY` (https), `http_proxy`
-- (http), `all_proxy` / `ALL_PROXY`; none when `no_proxy` / `NO_PROXY` matches the host (`*`,
-- a host name or a domain suffix).
-- @module zlock.proxy
local M = {}

--- A proxy URL without its user name and password.
-- @tparam string url
-- @treturn string
function M.redact(url)
  return (url:gsub("^(%a[%w+.%-]*://)[^@/]*@", "%1"))
end

local function bypassed(host, getenv)
  local np = getenv("no_proxy") or getenv("NO_PROXY")
  if not np then return false end
  for entry in np:gmatch("[^,%s]+") do
    if entry == "*" then return true end
    entry = entry:gsub("^%.", ""):lower()
    if host == entry or host:sub(-(#entry + 1)) == "." .. entry then return true end
  end
  return false
end

--- The proxy a request to `url` uses (nil: none), redacted.
-- @tparam string|nil explicit the client's `proxy` option
-- @tparam string url the request's URL (or its origin)
-- @tparam[opt] function getenv default `os.getenv`
-- @treturn string|nil
function M.effective(explicit, url, getenv)
  getenv = getenv or os.getenv
  local scheme, host = (url or ""):match("^(%a+)://%[?([^/:%]]+)")
  if not scheme then return nil end
  scheme, host = scheme:lower(), host:lower()
  if bypassed(host, getenv) then return nil end
  local p = explicit
  if not p or p == "" then
    p = (scheme == "https" and (getenv("https_proxy") or getenv("HTTPS_PROXY")))
      or (scheme == "http" and getenv("http_proxy")) or getenv("all_proxy") or getenv("ALL_PROXY")
  end
  if not p or p == "" then return nil end
  return M.redact(p)
end

--- Names the proxy in a connection error when the request went through one (`err.proxy`).
-- @tparam table err a zlock error
-- @tparam string|nil explicit the client's `proxy` option
-- @tparam string url where the request went
-- @treturn table err
function M.name_in(err, explicit, url)
  if err.code ~= "CONNECT" then return err end
  local p = M.effective(explicit, url)
  if p then
    err.proxy = p
    err.message = ("cannot reach the proxy %s (%s)"):format(p, err.message)
  end
  return err
end

return M
