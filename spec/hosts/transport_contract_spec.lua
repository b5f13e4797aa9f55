-- zlock.transport: the contract's checks, refused at the caller's line before any request.
local zlock = require "zlock"

local function raised_at(fn)
  local ok, err = pcall(fn)
  assert.is_false(ok)
  return tostring(err)
end

describe("zlock.transport", function()
  local here = debug.getinfo(1, "S").short_src

  it("refuses an unknown transport name, naming the known ones, at the caller's line", function()
    local err = raised_at(function() zlock.new{ transport = "bogus" } end)
    assert.matches(here:gsub("%p", "%%%0") .. ":%d+: bad argument #1 to 'new' %(transport must be 'auto', 'curl', " ..
                   "'ngx', 'haproxy', 'cqueues'", err)
  end)

  it("refuses a table without send, or with a field of the wrong type", function()
    assert.matches("transport table needs a send function", raised_at(function() zlock.new{ transport = {} } end))
    assert.matches("transport.sleep must be a function",
      raised_at(function() zlock.new{ transport = { send = print, sleep = 1 } } end))
    assert.matches("transport.resends must be a boolean",
      raised_at(function() zlock.new{ transport = { send = print, resends = "yes" } } end))
  end)

  it("refuses a host transport outside its host", function()
    assert.matches("needs HAProxy's Lua", raised_at(function() zlock.new{ transport = "haproxy" } end))
    assert.matches("needs nginx's Lua module", raised_at(function() zlock.new{ transport = "ngx" } end))
  end)

  it("drives a call through a user's table, which sees no token in anything but the header", function()
    local seen = {}
    local t = { send = function(_, step)
      seen[#seen + 1] = step
      return 204, "", nil
    end }
    local c = assert(zlock.new{ api_domain = "https://www.zohoapis.eu", access_token = "1000.secret-token",
                                transport = t })
    local locks = assert(c:get("Deals", "5843104000000100309"))
    assert.same({}, locks)
    assert.equal(1, #seen)
    assert.equal("GET", seen[1].method)
    assert.matches("^https://www%.zohoapis%.eu/crm/v8/Deals/5843104000000100309/Locking_Information__s", seen[1].url)
    assert.equal("Zoho-oauthtoken 1000.secret-token", seen[1].headers.Authorization)
  end)
end)
