-- The options table (zlock.options): every option checked once, with the allowed values in the
-- message; defaults and limits of the core's settings taken from the core; the README's tables
-- generated from it. No server needed.
local zlock, core = require "zlock", require "zlock.core"
local options, policy, cli = require "zlock.options", require "zlock.policy", require "zlock.cli"

local TOKEN = "1000.unit.token"

-- A programmer's mistake (unknown option, wrong type) raises: the message.
local function new_error(o)
  o.access_token = o.access_token or TOKEN
  local ok, err = pcall(function() local c = zlock.new(o); return c end)
  assert.is_false(ok, "zlock.new did not raise")
  return err
end

-- A string outside its values (configuration, e.g. from the environment) is returned: nil, err.
local function refused(o)
  o.access_token = o.access_token or TOKEN
  local c, err = zlock.new(o)
  assert.is_nil(c, "zlock.new accepted the options")
  assert.equals("INVALID_ARGUMENT", err.code)
  return err.message
end

describe("zlock.new's options", function()
  it("refuses an unknown option, naming it", function()
    local err = new_error{ timout = 5 }
    assert.matches("bad argument #1 to 'new' (unknown option 'timout')", err, 1, true)
    assert.matches("unknown option 'max_attemps'", new_error{ retries = { max_attemps = 2 } }, 1, true)
  end)

  it("blames the caller's line", function()
    local err = new_error{ timeout = "30" }
    assert.matches("^spec/unit/options_spec.lua:%d+:", err)
  end)

  it("says what a timeout may be: 0 and 1e300 are out of range, not negative", function()
    for _, v in ipairs{ 0, 1e300, -1, 0 / 0 } do
      local err = new_error{ timeout = v }
      assert.matches("timeout must be a number of seconds from 0.001 to 86400, got ", err, 1, true)
      assert.not_matches("negative", err)
    end
    assert.matches("connect_timeout must be a number of seconds from 0.001 to 86400, got \"5\"",
      new_error{ connect_timeout = "5" }, 1, true)
  end)

  it("says what max_attempts may be", function()
    local err = new_error{ retries = { max_attempts = 1e12 } }
    assert.matches("retries.max_attempts must be an integer from 1 to 1000, got 1000000000000", err, 1, true)
    assert.matches("retries.max_attempts must be an integer", new_error{ retries = { max_attempts = 2.5 } }, 1, true)
    assert.matches("retries.base_delay must be a number of seconds from 0 to 3600, got -0.5",
      new_error{ retries = { base_delay = -0.5 } }, 1, true)
  end)

  it("accepts api_version v5 to v8 only (the versions with the locking API)", function()
    assert.matches('api_version must be one of "v5", "v6", "v7", "v8", got "v9"',
      refused{ api_version = "v9" }, 1, true)
    assert.matches('got "v4"', refused{ api_version = "v4" }, 1, true)
    for _, v in ipairs{ "v5", "v8" } do
      local c = assert(zlock.new{ access_token = TOKEN, api_version = v })
      assert.equals(v, c:info().api_version)
      c:close()
    end
  end)

  it("refuses a bad dc (returned: it may come from ZOHO_DC) or transport (raised) with the allowed values", function()
    assert.matches('dc must be one of "us", "eu"', refused{ dc = "mars" }, 1, true)
    assert.matches("transport must be 'auto', 'curl', 'ngx'", new_error{ transport = "nginx" }, 1, true)
    assert.matches("bad argument #1 to 'new' (dc must be one of", new_error{ dc = 1 }, 1, true)
  end)

  it("makes refresh_ahead settable, in range", function()
    local c = assert(zlock.new{ access_token = TOKEN, refresh_ahead = 5 })
    c:close()
    assert.matches("refresh_ahead must be a number of seconds from 0 to 86400, got -1",
      new_error{ refresh_ahead = -1 }, 1, true)
    -- it reaches the core under the core's name (the core refuses it there too)
    assert.same({ refresh_ahead_s = 5, access_token = TOKEN },
      options.client_config{ refresh_ahead = 5, access_token = TOKEN })
    local cc, err = core.client{ access_token = TOKEN, refresh_ahead_s = 1e9 }
    assert.is_nil(cc)
    assert.matches("refresh_ahead_s must be from 0 to 86400", err.message, 1, true)
  end)

  it("passes unset options as nil: the core applies its own defaults", function()
    assert.same({ access_token = TOKEN }, options.client_config{ access_token = TOKEN })
    assert.same({ access_token = TOKEN, timeout_ms = 2500, max_attempts = 2, base_delay_ms = 10 },
      options.client_config{ access_token = TOKEN, timeout = 2.5, retries = { max_attempts = 2, base_delay = 0.01 },
                             on_retry = print, transport = "curl" })
  end)
end)

describe("the options table", function()
  it("takes the defaults of the core's settings from the core", function()
    local d = core.defaults()
    assert.equals(d.timeout_ms / 1000, options.default("new", "timeout"))
    assert.equals(d.connect_timeout_ms / 1000, options.default("new", "connect_timeout"))
    assert.equals(d.refresh_ahead_s, options.default("new", "refresh_ahead"))
    assert.equals(d.api_version, options.default("new", "api_version"))
    assert.equals(d.max_attempts, options.default("retries", "max_attempts"))
    assert.equals(d.base_delay_ms / 1000, options.default("retries", "base_delay"))
    assert.equals(d.concurrency, options.default("bulk", "concurrency"))
    assert.equals("zlock/" .. core.version, options.default("new", "user_agent"))
  end)

  it("has the core's limits: the core accepts each bound and refuses just past it", function()
    local names = { timeout = "timeout_ms", connect_timeout = "connect_timeout_ms", refresh_ahead = "refresh_ahead_s",
                    max_response_bytes = "max_response_bytes" }
    for name, cname in pairs(names) do
      local e = options.get("new", name)
      local scale = core.defaults()[cname] / options.default("new", name)
      for _, v in ipairs{ e.min, e.max } do
        local c = core.client{ access_token = TOKEN, [cname] = v * scale }
        assert.truthy(c, name .. " = " .. v)
        c:close()
      end
      assert.is_nil(core.client{ access_token = TOKEN, [cname] = e.max * scale + 1 })
      assert.is_nil(core.client{ access_token = TOKEN, [cname] = e.min * scale - 1 })
    end
  end)

  it("is what README.md shows (scripts/readme_options.lua writes it)", function()
    local f = assert(io.open("README.md", "rb"))
    local readme = f:read("*a")
    f:close()
    for _, section in ipairs{ "new", "retries", "bulk" } do
      local shown = readme:match("<!%-%- options:" .. section .. " %-%->\n(.-)<!%-%- /options:" .. section .. " %-%->")
      assert.equals(options.markdown(section), shown, "README's " .. section .. " table is stale")
    end
  end)
end)

describe("concurrency, one rule for every layer", function()
  it("a policy's concurrency = 1e12 is refused with the range (not silently 1)", function()
    local p, err = policy.validate({ module = "Deals", select = { criteria = "(Stage:equals:X)" }, action = "unlock",
                                     concurrency = 1e12 }, "p.lua")
    assert.is_nil(p)
    assert.equals("policy p.lua: concurrency must be an integer from 1 to 1024, got 1000000000000", err)
  end)

  it("c:bulk and --concurrency say the same", function()
    local bulk = require "zlock.bulk"
    local ok, err = pcall(bulk.new, {}, { concurrency = 0 })
    assert.is_false(ok)
    assert.matches("bad argument #1 to 'bulk' (concurrency must be an integer from 1 to 1024, got 0)", err, 1, true)
    ok, err = pcall(bulk.new, {}, { concurency = 4 })
    assert.is_false(ok)
    assert.matches("unknown option 'concurency'", err, 1, true)
    local parsed, perr = cli.parse{ "run", "--concurrency", "2000", "x.lua" }
    assert.is_nil(parsed)
    assert.equals("--concurrency must be an integer from 1 to 1024, got 2000", perr)
    assert.equals(8, cli.parse{ "run", "--concurrency", "8", "x.lua" }.opts.concurrency)
  end)
end)
