-- zlock.cqueues_redis (Redis over cqueues sockets, for the cqueues transport) against real
-- redis-servers, run under LuaJIT (spec/hosts/cqueues_redis_probe.lua): concurrent commands on
-- one pooled link never get each other's replies, connections are reused, a connection the
-- server closed is not; rediss:// verifies the certificate and the host name; no message
-- holds the URL's password.
local cjson = require "cjson"
local procs = require "helpers.procs"
local redis = require "helpers.redis"

local PW = "cq-redis-s3cret"

local function probe(...)
  local words = { "LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' LUA_CPATH='build/luajit/?.so;;' luajit",
                  "spec/hosts/cqueues_redis_probe.lua" }
  for _, a in ipairs{ ... } do words[#words + 1] = procs.quote(a) end
  local text, rc = procs.sh(table.concat(words, " "))
  assert(rc == 0, "probe failed: " .. text)
  assert.falsy(text:find(PW, 1, true), "the password in the probe's output: " .. text)
  return cjson.decode(text:match("{.*}"))
end

describe("cqueues Redis link", function()
  local r
  lazy_setup(function() r = redis.start{ password = PW } end)
  lazy_teardown(function() if r then r:stop() end end)

  it("50 coroutines x 20 commands on one link: each gets its own replies, over reused connections", function()
    local out = probe("pool", r.url)
    print(("\n[cqueues redis] 1000 commands from 50 coroutines: %d connections opened, %d kept; " ..
           "ticker %.1f ms late"):format(out.opened, out.idle, out.late_ms))
    assert.equal(0, out.wrong)
    assert.is_true(out.opened <= 50, "opened " .. out.opened)   -- never more than one per coroutine
    assert.equal(8, out.idle)
    assert.is_true(out.late_ms < 50, "ticker " .. out.late_ms .. " ms late")
  end)

  it("drops pooled connections the server closed, and the next command works", function()
    local out = probe("pool", r.url)
    assert.is_true(out.killed >= 8, "CLIENT KILL closed " .. tostring(out.killed))
    assert.equal("PONG", out.after_kill, tostring(out.after_kill_err))
    assert.equal(out.opened + 1, out.opened_after)
  end)

  it("names host:port, never the password, when Redis refuses the credentials or is not there", function()
    local out = probe("ping", "redis://:" .. PW .. "-wrong@127.0.0.1:" .. r.port)
    assert.matches("127%.0%.0%.1:%d+ refused the URL's credentials or database", out.err)
    local port = redis.free_port()
    out = probe("ping", "redis://:" .. PW .. "@127.0.0.1:" .. port)
    assert.equal("cannot connect to 127.0.0.1:" .. port .. ": Connection refused", out.err)
  end)
end)

describe("cqueues Redis link over rediss://", function()
  local r, dir, cert

  lazy_setup(function()
    dir = procs.tmpdir()
    local key
    cert, key = redis.make_cert(dir, "redis")   -- self-signed, for DNS name localhost only
    r = redis.start{ tls = { cert = cert, key = key }, password = PW }
  end)
  lazy_teardown(function()
    if r then r:stop() end
    if dir then procs.rm(dir) end
  end)

  it("refuses a certificate no CA it trusts signed", function()
    local out = probe("ping", r.url)
    assert.is_nil(out.reply)
    assert.matches("TLS handshake with localhost:%d+ failed: certificate verify failed %(self%-signed certificate%)",
      out.err)
  end)

  it("accepts it with ca_file", function()
    local out = probe("ping", r.url, cert)
    assert.equal("PONG", out.reply, tostring(out.err))
  end)

  it("refuses it, even with ca_file, when it does not name the URL's host", function()
    local out = probe("ping", (r.url:gsub("@localhost:", "@127.0.0.1:")), cert)
    assert.is_nil(out.reply)
    assert.matches("TLS handshake with 127%.0%.0%.1:%d+ failed: .*%(IP address mismatch%)", out.err)
  end)
end)
