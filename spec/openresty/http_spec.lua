-- zlock.ngx.http, the cosocket HTTP/1.1 client the nginx transport uses when lua-resty-http
-- is not installed, inside a real nginx against a real socket server with canned replies
-- (fixtures/http_server.lua): bodies by length, chunked and close; size cap; keep-alive reuse;
-- cut and missing replies; timeouts; refused connections. Errors are the core's names.
local cjson = require "cjson.safe"
local ngxs = require "openresty.support"

local PROBE = [[
        location = /__http {
            content_by_lua_block {
                local a = ngx.req.get_uri_args()
                local http = require "zlock.ngx.http"
                local status, body, e = http.request{
                    method = a.method or "GET", url = a.url, body = a.body,
                    idempotent = a.idem == "1", max_response_bytes = tonumber(a.cap),
                    timeout_ms = tonumber(a.timeout_ms), connect_timeout_ms = 2000,
                }
                local out = status and { status = status, body = body, len = #body }
                            or { err = body, msg = e }
                ngx.say(require("cjson").encode(out))
            }
        }
]]

local function ngx_escape(s)
  return (s:gsub("[^%w%-_%.~]", function(ch) return string.format("%%%02X", ch:byte()) end))
end

describe("zlock.ngx.http in nginx", function()
  local server, server_pid, port, n

  lazy_setup(function()
    server = assert(io.popen("echo $$; exec luajit spec/openresty/fixtures/http_server.lua", "r"))
    local pid = server:read("*l")
    port = tonumber(server:read("*l"):match("listening (%d+)"))
    server_pid = tonumber(pid)
    n = ngxs.start{ extra_server = PROBE }
  end)

  lazy_teardown(function()
    if n then n:stop() end
    if server then
      os.execute("kill " .. server_pid)
      server:close()
    end
  end)

  local function probe(path, o)
    o = o or {}
    local q = { "url=" .. ngx_escape("http://127.0.0.1:" .. (o.port or port) .. path) }
    for k, v in pairs(o) do
      if k ~= "port" then q[#q + 1] = k .. "=" .. ngx_escape(tostring(v)) end
    end
    local r = assert(n:req("GET", "/__http?" .. table.concat(q, "&")))
    assert.equal(200, r.status, r.body)
    return assert(cjson.decode(r.body))
  end

  it("reads Content-Length, chunked (extensions, trailers) and close-delimited bodies", function()
    assert.same({ status = 200, body = "hello length", len = 12 }, probe("/length"))
    assert.same({ status = 200, body = "hello chunked", len = 13 }, probe("/chunked"))
    assert.same({ status = 200, body = "until the server closes", len = 23 }, probe("/close"))
    assert.same({ status = 200, body = "POST payload", len = 12 },
                probe("/echo", { method = "POST", body = "payload" }))
    assert.equal(404, probe("/nope").status)
  end)

  it("caps the reply size, by Content-Length and by chunks", function()
    assert.equal(100000, probe("/big").len)
    assert.equal("too_large", probe("/big", { cap = 1000 }).err)
    assert.equal(100000, probe("/bigchunks").len)
    assert.equal("too_large", probe("/bigchunks", { cap = 50000 }).err)
  end)

  it("reuses a pooled keep-alive connection, and leaves one the server closed", function()
    local first = tonumber(probe("/conn").body)
    assert.equal(first, tonumber(probe("/conn").body))    -- same connection
    assert.equal("bye", probe("/onceclose").body)         -- the server closes after this one
    local after = tonumber(probe("/conn", { method = "POST" }).body)
    assert.equal(first + 1, after)                        -- a fresh connection, no error
  end)

  it("reports cut replies, missing replies, timeouts and refused connections by the core's names", function()
    assert.equal("closed", probe("/cut").err)
    assert.equal("closed", probe("/nothing").err)
    assert.equal("timeout", probe("/slow", { timeout_ms = 300 }).err)
    assert.equal("connect", probe("/length", { port = ngxs.free_port() }).err)
  end)
end)
