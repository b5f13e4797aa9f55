--- A small HTTP/1.1 client on nginx cosockets (`ngx.socket.tcp`): what the zlock nginx
-- transport sends the core's requests with when lua-resty-http is not installed.
--
-- * one request per call, on a connection taken from nginx's keep-alive pool (per
--   `host:port[:tls:sni]`) and put back with `setkeepalive` when the reply allows it;
-- * `https` with `sslhandshake(nil, host, true)`: certificate verification is always on
--   (nginx needs `lua_ssl_trusted_certificate`, see the README's OpenResty section);
-- * responses: status line, headers, `Content-Length`, `chunked` or close-delimited bodies,
--   with a size cap; no body for HEAD, 1xx, 204 and 304;
-- * a connect timeout and a deadline for the whole exchange;
-- * failures come back as the core's transport error names: `connect` (nothing was sent),
--   `timeout`, `closed` (the request may have been applied), `tls`, `too_large`, `other`.
--
-- A pooled connection the server closes while idle leaves the pool at once (nginx watches
-- idle pooled sockets). If one dies anyway between taking it and the reply (a race), a GET is
-- sent once more on a fresh connection; any other method is not: the failure goes back to
-- the core as `closed`, because only the core may re-send a POST, PUT or DELETE. It knows it
-- is a retry: an unlock that then answers "relation not found" counts as done, and a lock is
-- reconciled with a GET instead of being sent twice. (libcurl's silent re-send on a dead
-- reused connection hides exactly that from the core.)
-- @module zlock.ngx.http
local options = require "zlock.options"

-- Unset request options: zlock.new's defaults.
local DEF = { connect_timeout_ms = options.ms({}, "connect_timeout"), timeout_ms = options.ms({}, "timeout"),
              keepalive_ms = options.ms({}, "keepalive"), user_agent = options.default("new", "user_agent"),
              max_response_bytes = options.default("new", "max_response_bytes") }
local ngx = ngx
local tcp = ngx.socket.tcp
local concat = table.concat
local tonumber = tonumber

local M = {}

--- Splits an absolute URL.
-- @tparam string url `http[s]://host[:port]/path?query`
-- @treturn table `{scheme=, host=, port=, path=}` (path includes the query), or nil, message
function M.parse_url(url)
  local scheme, rest = url:match("^(https?)://(.*)$")
  if not scheme then return nil, "unsupported URL scheme" end
  local hostport, path = rest:match("^([^/]*)(.*)$")
  if path == "" then path = "/" end
  local host, port = hostport:match("^%[(.-)%]:?(%d*)$")   -- [v6]:port
  if not host then host, port = hostport:match("^([^:]+):?(%d*)$") end
  if not host or host == "" then return nil, "URL has no host" end
  port = tonumber(port) or (scheme == "https" and 443 or 80)
  return { scheme = scheme, host = host, port = port, path = path }
end

local function now() return ngx.now() end

-- Remaining milliseconds before the deadline (at least 1).
local function left_ms(deadline)
  local ms = math.floor((deadline - now()) * 1000)
  return ms > 0 and ms or 1
end

-- Maps a cosocket error string to a core transport error name.
local function terr(e, default)
  if e == "timeout" then return "timeout" end
  if e == "closed" or (e and e:find("reset", 1, true)) or (e and e:find("broken pipe", 1, true)) then
    return "closed"
  end
  return default or "other"
end

local function connect(u, o, deadline)
  local sock = tcp()
  sock:settimeouts(o.connect_timeout_ms or DEF.connect_timeout_ms, left_ms(deadline), left_ms(deadline))
  local tls = u.scheme == "https"
  local pool = u.host .. ":" .. u.port .. (tls and ":tls:" .. u.host or "")
  local ok, err = sock:connect(u.host, u.port, { pool = pool, pool_size = o.pool_size })
  if not ok then
    return nil, "connect", "connect " .. u.host .. ":" .. u.port .. ": " .. tostring(err)
  end
  if tls and sock:getreusedtimes() == 0 then
    -- pcall: Debian 12's lua-resty-core raises "assertion failed!" (instead of returning
    -- nil, err) when a handshake that completed at once then fails verification; either way
    -- the certificate was not accepted
    local done, sess, herr = pcall(sock.sslhandshake, sock, nil, u.host, true)
    if not done then sess, herr = nil, "certificate verification failed (" .. tostring(sess) .. ")" end
    if not sess then
      sock:close()
      if herr == "timeout" then return nil, "timeout", "TLS handshake timed out" end
      return nil, "tls", "TLS handshake with " .. u.host .. " failed: " .. tostring(herr)
    end
  end
  return sock
end

local function build_request(method, u, headers, body, ua)
  local lines = { method, " ", u.path, " HTTP/1.1\r\n" }
  local have = {}
  for name, value in pairs(headers or {}) do
    have[name:lower()] = true
    lines[#lines + 1] = name .. ": " .. value .. "\r\n"
  end
  if not have.host then
    local default_port = (u.scheme == "https" and 443 or 80)
    local h = u.host:find(":", 1, true) and "[" .. u.host .. "]" or u.host
    lines[#lines + 1] = "Host: " .. h .. (u.port ~= default_port and ":" .. u.port or "") .. "\r\n"
  end
  if not have["user-agent"] then lines[#lines + 1] = "User-Agent: " .. ua .. "\r\n" end
  if not have.connection then lines[#lines + 1] = "Connection: keep-alive\r\n" end
  if body or method == "POST" or method == "PUT" or method == "PATCH" then
    lines[#lines + 1] = "Content-Length: " .. #(body or "") .. "\r\n"
  end
  lines[#lines + 1] = "\r\n"
  if body then lines[#lines + 1] = body end
  return concat(lines)
end

-- Reads the status line and headers. Returns status, headers (lower-case names), or nil, terr, msg.
local function read_head(sock)
  local line, err = sock:receive("*l")
  if not line then return nil, terr(err, "closed"), "no reply: " .. tostring(err), true end
  local status = tonumber(line:match("^HTTP/1%.[01] (%d%d%d)"))
  if not status then return nil, "other", "not an HTTP/1.x status line" end
  local h = {}
  while true do
    line, err = sock:receive("*l")
    if not line then return nil, terr(err, "closed"), "reply headers cut: " .. tostring(err) end
    if line == "" then break end
    local name, value = line:match("^([^:]+):%s*(.-)%s*$")
    if name then
      name = name:lower()
      h[name] = h[name] and (h[name] .. ", " .. value) or value
    end
  end
  return status, h
end

local function read_chunked(sock, cap)
  local parts, size = {}, 0
  while true do
    local line, err = sock:receive("*l")
    if not line then return nil, terr(err, "closed"), "chunked body cut: " .. tostring(err) end
    local n = tonumber(line:match("^%s*(%x+)"), 16)
    if not n then return nil, "other", "bad chunk size line" end
    if n == 0 then
      repeat   -- trailers up to the empty line
        line, err = sock:receive("*l")
        if not line then return nil, terr(err, "closed"), "chunked trailer cut: " .. tostring(err) end
      until line == ""
      return concat(parts)
    end
    size = size + n
    if size > cap then return nil, "too_large", "reply larger than " .. cap .. " bytes" end
    local data
    data, err = sock:receive(n)
    if not data then return nil, terr(err, "closed"), "chunk cut: " .. tostring(err) end
    parts[#parts + 1] = data
    line, err = sock:receive(2)
    if line ~= "\r\n" then return nil, terr(err, "closed"), "chunk not followed by CRLF" end
  end
end

local function read_to_close(sock, cap)
  local parts, size = {}, 0
  while true do
    local data, err = sock:receiveany(65536)
    if not data then
      if err == "closed" then return concat(parts) end
      return nil, terr(err), "reply cut: " .. tostring(err)
    end
    size = size + #data
    if size > cap then return nil, "too_large", "reply larger than " .. cap .. " bytes" end
    parts[#parts + 1] = data
  end
end

-- Reads the body its head announces. Returns body, close (the server ends the connection);
-- or nil, terr, message.
local function read_body(sock, h, status, method, cap)
  local te = h["transfer-encoding"]
  if method == "HEAD" or status == 204 or status == 304 or (status >= 100 and status < 200) then
    return "", false
  elseif te and te:lower():find("chunked", 1, true) then
    local body, e2, m2 = read_chunked(sock, cap)
    if not body then return nil, e2, m2 end
    return body, false
  elseif h["content-length"] then
    local n = tonumber(h["content-length"])
    if not n or n < 0 then return nil, "other", "bad Content-Length" end
    if n > cap then return nil, "too_large", "reply larger than " .. cap .. " bytes" end
    if n == 0 then return "", false end
    local body, err = sock:receive(n)
    if not body then return nil, terr(err, "closed"), "reply body cut: " .. tostring(err) end
    return body, false
  end
  local body, e2, m2 = read_to_close(sock, cap)
  if not body then return nil, e2, m2 end
  return body, true
end

-- One exchange on one connection. Returns status, body, headers, keepalive-able; or
-- nil, terr, message, before_reply (true when nothing of a reply arrived).
local function exchange(sock, req, method, cap, o, deadline)
  local bytes, err = sock:send(req)
  if not bytes then return nil, terr(err, "closed"), "send failed: " .. tostring(err), true end
  sock:settimeouts(o.connect_timeout_ms or DEF.connect_timeout_ms, left_ms(deadline), left_ms(deadline))
  local status, h, msg, nothing = read_head(sock)
  if not status then return nil, h, msg, nothing end
  if now() >= deadline then return nil, "timeout", "no complete reply in time" end
  sock:settimeouts(o.connect_timeout_ms or DEF.connect_timeout_ms, left_ms(deadline), left_ms(deadline))
  local body, closes, m2 = read_body(sock, h, status, method, cap)
  if not body then return nil, closes, m2 end
  local close = closes or (h.connection or ""):lower():find("close", 1, true) ~= nil
  return status, body, h, not close
end

--- Performs one request.
-- @tparam table o `method`, `url`, `headers` ({Name=value}), `body` (string or nil),
--   `idempotent` (informational: only GET and HEAD are ever re-sent by this function),
--   `connect_timeout_ms`, `timeout_ms` (whole exchange), `max_response_bytes`, `keepalive_ms`
--   (idle time in the pool), `user_agent` (unset: `zlock.new`'s defaults, see `zlock.options`),
--   `pool_size` (default nginx's `lua_socket_pool_size`)
-- @return status, body, headers; or nil, transport error name, message
function M.request(o)
  local u, perr = M.parse_url(o.url)
  if not u then return nil, "other", perr end
  local method = o.method or "GET"
  local cap = o.max_response_bytes or DEF.max_response_bytes
  local deadline = now() + (o.timeout_ms or DEF.timeout_ms) / 1000
  local req = build_request(method, u, o.headers, o.body, o.user_agent or DEF.user_agent)
  for try = 1, 2 do
    local sock, e, m = connect(u, o, deadline)
    if not sock then return nil, e, m end
    local reused = sock:getreusedtimes() > 0
    sock:settimeouts(o.connect_timeout_ms or DEF.connect_timeout_ms, left_ms(deadline), left_ms(deadline))
    local status, body, h, keep = exchange(sock, req, method, cap, o, deadline)
    if status then
      if keep then sock:setkeepalive(o.keepalive_ms or DEF.keepalive_ms, o.pool_size)
      else sock:close() end
      return status, body, h
    end
    sock:close()
    -- body = error name, h = message, keep = nothing of a reply arrived
    if not (try == 1 and reused and keep and body == "closed" and (method == "GET" or method == "HEAD")) then
      return nil, body, h
    end
  end
end

return M
