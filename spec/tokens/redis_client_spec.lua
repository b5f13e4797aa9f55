-- The Lua transports' Redis client and store (zlock.redis_client, zlock.redis_store) against a
-- real redis-server, over LuaSocket sockets given as the host's socket factory (nginx and
-- HAProxy give theirs the same way).
local core = require "zlock.core"
local redis = require "helpers.redis"
local redis_client = require "zlock.redis_client"
local redis_store = require "zlock.redis_store"
local socket = require "socket"

local PW = "client-spec-pw"

-- LuaSocket as the socket factory: a new connection per command (like HAProxy's).
local function luasocket_io()
  local io = { connects = 0 }
  function io.connect(u)
    local s = socket.tcp()
    s:settimeout(5)
    local ok, err = s:connect(u.host, u.port)
    if not ok then return nil, "cannot connect to " .. redis_client.where(u) .. ": " .. tostring(err) end
    io.connects = io.connects + 1
    return s, false
  end
  function io.done(s) s:close() end
  return io
end

local function client(url)
  return redis_client.new(assert(core.redis_url(url)), luasocket_io())
end

describe("zlock.redis_client over LuaSocket", function()
  local r
  lazy_setup(function() r = redis.start{ password = PW } end)
  lazy_teardown(function() if r then r:stop() end end)

  it("authenticates and selects the URL's database on each new connection", function()
    local c = client(r.url .. "/4")
    assert.equal("OK", c:cmd("SET", "k", "v\r\nwith a line break"))
    assert.equal("v\r\nwith a line break", c:cmd("GET", "k"))
    assert.matches("k", r:cli("-n", "4", "KEYS", "*"))
    assert.equal("", (r:cli("-n", "0", "KEYS", "*"):gsub("%s", "")))
  end)

  it("reads integers, nil bulks and arrays", function()
    local c = client(r.url .. "/5")
    assert.equal(3, c:cmd("INCRBY", "n", 3))
    assert.equal(redis_client.null, c:cmd("GET", "absent"))
    local v = c:cmd("EVAL", "return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}", 1, "n")
    assert.same({ "3", -1 }, v)
  end)

  it("names the server, never the password, in every failure", function()
    local c = client(r.url .. "/5")
    c:cmd("SET", "s", "text")
    local v, err = c:cmd("INCR", "s")
    assert.is_nil(v)
    assert.matches("^127%.0%.0%.1:%d+ answered redis: ERR", err)
    v, err = client("redis://:wrong-" .. PW .. "@127.0.0.1:" .. r.port):cmd("PING")
    assert.is_nil(v)
    assert.equal("127.0.0.1:" .. r.port .. " refused the URL's credentials or database", err)
    v, err = client(r.url .. "/99999"):cmd("PING")
    assert.is_nil(v)
    assert.equal("127.0.0.1:" .. r.port .. " refused the URL's credentials or database", err)
    local dead = redis.free_port()
    v, err = client("redis://:" .. PW .. "@127.0.0.1:" .. dead):cmd("PING")
    assert.is_nil(v)
    assert.matches("^cannot connect to 127%.0%.0%.1:" .. dead, err)
    assert.falsy(err:find(PW, 1, true))
  end)
end)

describe("zlock.redis_store over LuaSocket", function()
  local r
  lazy_setup(function() r = redis.start{ password = PW } end)
  lazy_teardown(function() if r then r:stop() end end)

  local function store(id)
    local io = luasocket_io()
    return assert(redis_store.new(r.url .. "/6", "abc123", { connect = io.connect, done = io.done,
      now = socket.gettime, id = id }))
  end

  it("keeps the C core's entries: token with its api_domain, expiring with it", function()
    local a, b = store("a"), store("b")
    assert.is_nil(a:load())
    assert.is_true(a:save("1000.tok", socket.gettime() + 120, "https://www.zohoapis.eu"))
    local tok, exp, api = b:load()
    assert.equal("1000.tok", tok)
    assert.equal("https://www.zohoapis.eu", api)
    assert.is_true(exp > socket.gettime() + 110 and exp <= socket.gettime() + 121, tostring(exp))
    assert.equal("https://www.zohoapis.eu\n1000.tok", (r:cli("-n", "6", "GET", "zlock:token:abc123"):gsub("\n$", "")))
    local pttl = tonumber(r:cli("-n", "6", "PTTL", "zlock:token:abc123"))
    assert.is_true(pttl > 110000 and pttl <= 120000, tostring(pttl))
  end)

  it("lets one holder take the refresh lock; only the holder releases it", function()
    local a, b = store("holder-a"), store("holder-b")
    assert.is_true(a:lock(30))
    assert.is_false(b:lock(30))
    b:unlock()   -- not b's: stays
    assert.is_false(b:lock(30))
    a:unlock()
    assert.is_true(b:lock(30))
    b:unlock()
    assert.equal("", (r:cli("-n", "6", "KEYS", "zlock:lock:*"):gsub("%s", "")))
  end)

  it("reports a Redis it cannot reach as the store's failure", function()
    local io = luasocket_io()
    local s = assert(redis_store.new("redis://127.0.0.1:" .. redis.free_port(), "abc123",
      { connect = io.connect, done = io.done, now = socket.gettime, id = "x" }))
    local tok, _, _, err = s:load()
    assert.is_nil(tok)
    assert.matches("^cannot connect to 127%.0%.0%.1:%d+", err)
    local got, lerr = s:lock(30)
    assert.is_nil(got)
    assert.matches("^cannot connect", lerr)
  end)
end)
