-- Proxies: the `proxy` option (zlock.new), --proxy and ZLOCK_PROXY (the command), libcurl's
-- http_proxy environment and no_proxy; a request goes through a real proxy (tinyproxy, started
-- here as a user process on a free loopback port: its log counts the connections), and when the
-- proxy is gone the error names it (without its password).
local S = require "bulk.support"
local socket = require "socket"

local function free_port()
  local srv = assert(socket.bind("127.0.0.1", 0))
  local _, port = srv:getsockname()
  srv:close()
  return tonumber(port)
end

local function start_proxy(dir)
  local port = free_port()
  local conf, log = dir .. "/tinyproxy.conf", dir .. "/tinyproxy.log"
  local f = assert(io.open(conf, "w"))
  f:write(("Port %d\nListen 127.0.0.1\nTimeout 30\nLogFile %q\nLogLevel Info\nMaxClients 20\n"
    .. "Allow 127.0.0.1\n"):format(port, log))
  f:close()
  local p = assert(io.popen("tinyproxy -d -c " .. S.quote(conf) .. " >/dev/null 2>&1 & echo $!"))
  local pid = tonumber(p:read("*l"))
  p:close()
  assert(S.wait_for(function()
    local c = socket.tcp()
    local ok = c:connect("127.0.0.1", port)
    c:close()
    return ok
  end, 10), "tinyproxy did not start")
  return { pid = pid, port = port, url = "http://127.0.0.1:" .. port, log = log }
end

-- connections the proxy made to zlock-emu's port so far
local function forwarded(proxy, emu_port)
  local n = 0
  for line in S.slurp(proxy.log):gmatch("[^\n]+") do
    if line:find("opening connection to 127.0.0.1:" .. emu_port, 1, true) then n = n + 1 end
  end
  return n
end

describe("proxies", function()
  local e, proxy, dir, emu_port, id

  lazy_setup(function()
    e = S.start()
    emu_port = e.url:match(":(%d+)$")
    dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. S.quote(dir))
    proxy = start_proxy(dir)
    id = S.unlocked(e, "Deals")[1]
  end)

  lazy_teardown(function()
    if proxy and proxy.pid then os.execute("kill " .. proxy.pid .. " 2>/dev/null") end
    if e then e:stop() end
    if dir then os.execute("rm -rf " .. S.quote(dir)) end
  end)

  it("zlock.new{proxy = ...}: every call goes through the proxy", function()
    local before = forwarded(proxy, emu_port)
    local c = S.client(e, { proxy = proxy.url })
    local res = assert(c:get("Deals", id))
    assert.same({}, res)
    local lock = assert(c:lock("Deals", id, "through the proxy"))
    assert(c:unlock("Deals", id, lock.id))
    c:close()
    assert.is_true(forwarded(proxy, emu_port) - before >= 1, "the proxy forwarded nothing")
    -- and without the option, nothing goes through it
    before = forwarded(proxy, emu_port)
    local direct = S.client(e)
    assert(direct:get("Deals", id))
    direct:close()
    assert.equals(before, forwarded(proxy, emu_port))
  end)

  it("the command: --proxy, ZLOCK_PROXY and libcurl's http_proxy go through it; no_proxy bypasses it", function()
    for _, case in ipairs{ { args = { "--proxy", proxy.url } }, { env = { ZLOCK_PROXY = proxy.url } },
                           { env = { http_proxy = proxy.url } } } do
      local before = forwarded(proxy, emu_port)
      local args = { "get", "Deals", id }
      for i, a in ipairs(case.args or {}) do table.insert(args, i, a) end
      local out, code, err = S.zlock(e, args, case.env)
      assert.equals(0, code, err)
      assert.matches("is not locked", out, 1, true)
      assert.is_true(forwarded(proxy, emu_port) > before, "not through the proxy: " .. table.concat(args, " "))
    end
    local before = forwarded(proxy, emu_port)
    local _, code = S.zlock(e, { "get", "Deals", id }, { ZLOCK_PROXY = proxy.url, no_proxy = "127.0.0.1" })
    assert.equals(0, code)
    assert.equals(before, forwarded(proxy, emu_port))
  end)

  it("when the proxy is down, the error names it (never its password); no_proxy still works", function()
    os.execute("kill " .. proxy.pid)
    assert.is_true(S.wait_for(function() return not S.alive(proxy.pid) end, 10))
    proxy.pid = nil
    local url = "http://someone:s3cret@127.0.0.1:" .. proxy.port
    local c = S.client(e, { proxy = url, retries = { max_attempts = 1 } })
    local res, err = c:get("Deals", id)
    c:close()
    assert.is_nil(res)
    assert.equals("CONNECT", err.code)
    assert.equals(proxy.url, err.proxy)
    assert.matches("cannot reach the proxy " .. proxy.url, err.message, 1, true)
    assert.is_nil(tostring(err):find("s3cret", 1, true))

    local out, code, stderr = S.zlock(e, { "--json", "--proxy", url, "get", "Deals", id })
    assert.equals(1, code)
    assert.matches("cannot reach the proxy " .. proxy.url, stderr, 1, true)
    assert.is_nil((out .. stderr):find("s3cret", 1, true))
    assert.matches('"code":"CONNECT"', out, 1, true)

    -- a server that is down without a proxy is not blamed on one
    local _, code2, stderr2 = S.zlock(e, { "get", "Deals", id }, { ZLOCK_PROXY = url, no_proxy = "127.0.0.1" })
    assert.equals(0, code2, stderr2)
  end)
end)

describe("proxy option checks", function()
  it("is refused with a transport driven from Lua (the nginx transport has no proxy)", function()
    local zlock = require "zlock"
    assert.has_error(function()
      zlock.new{ access_token = "x", proxy = "http://127.0.0.1:3128", transport = { send = function() end } }
    end, "bad argument #1 to 'new' (proxy works with the libcurl transport only)")
  end)

  it("names the proxy libcurl would use: option, then https_proxy/http_proxy/all_proxy; no_proxy wins", function()
    local proxy = require "zlock.proxy"
    local function env(t) return function(k) return t[k] end end
    assert.equals("http://p:1", proxy.effective("http://u:pw@p:1", "https://www.zohoapis.eu", env{}))
    assert.equals("http://h:2", proxy.effective(nil, "https://www.zohoapis.eu", env{ https_proxy = "http://h:2" }))
    assert.is_nil(proxy.effective(nil, "https://www.zohoapis.eu", env{ http_proxy = "http://h:2" }))
    assert.equals("http://a:3", proxy.effective(nil, "http://127.0.0.1:8", env{ ALL_PROXY = "http://a:3" }))
    assert.is_nil(proxy.effective("http://p:1", "https://www.zohoapis.eu", env{ no_proxy = "zohoapis.eu" }))
    assert.is_nil(proxy.effective("http://p:1", "https://www.zohoapis.eu", env{ NO_PROXY = "*" }))
    assert.equals("http://p:1", proxy.effective("http://p:1", "https://www.zohoapis.eu", env{ no_proxy = "apis.eu" }))
  end)
end)
