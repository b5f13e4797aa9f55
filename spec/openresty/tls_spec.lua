-- https through the nginx transport, with certificate verification on: nginx itself
-- terminates TLS on a loopback port (a test certificate for 127.0.0.1) in front of zlock-emu.
-- Trusting that certificate, the example's endpoints work; trusting another CA, every call
-- fails with zlock's TLS error and nothing reaches the emulator.
local emu = require "helpers.emu"
local ngxs = require "openresty.support"

local function sh_ok(cmd)
  local r = os.execute(cmd)
  return r == true or r == 0
end

local HAVE_OPENSSL = sh_ok("command -v openssl >/dev/null 2>&1")

-- A self-signed certificate for 127.0.0.1 (its own CA): returns cert, key paths.
local function make_cert(dir, name)
  local cert, key = dir .. "/" .. name .. ".crt", dir .. "/" .. name .. ".key"
  assert(sh_ok("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1" ..
    " -addext subjectAltName=IP:127.0.0.1,DNS:127.0.0.1 -keyout " .. key .. " -out " .. cert ..
    " >/dev/null 2>&1"), "openssl could not make a certificate")
  return cert, key
end

local describe_tls = HAVE_OPENSSL and describe or pending

describe_tls("the nginx transport over https", function()
  local e, front, other, certdir, tls_port

  lazy_setup(function()
    certdir = os.tmpname()
    os.remove(certdir)
    assert(sh_ok("mkdir -p " .. certdir .. " && chmod 755 " .. certdir))
    local cert, key = make_cert(certdir, "server")
    local other_ca = make_cert(certdir, "other")
    assert(sh_ok("chmod 644 " .. certdir .. "/*"))
    e = emu.start{ "--seed", "demo" }
    tls_port = ngxs.free_port()
    local tls_server = table.concat({
      "    server {",
      "        listen 127.0.0.1:" .. tls_port .. " ssl;",
      "        ssl_certificate " .. cert .. ";",
      "        ssl_certificate_key " .. key .. ";",
      "        location / {",
      "            proxy_pass " .. e.url .. ";",
      "            proxy_http_version 1.1;",
      "            proxy_set_header Connection \"\";",
      "        }",
      "    }",
    }, "\n")
    local env = { ZOHO_API_DOMAIN = "https://127.0.0.1:" .. tls_port, ZOHO_ACCESS_TOKEN = emu.ACCESS_TOKEN }
    front = ngxs.start{ env = env, extra_http = tls_server, trusted_certificate = cert }
    other = ngxs.start{ env = env, trusted_certificate = other_ca }
  end)

  lazy_teardown(function()
    if other then other:stop() end
    if front then front:stop() end
    if e then e:stop() end
    if certdir then os.execute("rm -rf " .. certdir) end
  end)

  it("locks, reads and unlocks with a verified certificate", function()
    local id = ngxs.unlocked_deals(e, 1)[1]
    local r = assert(front:req("POST", "/deals/" .. id .. "/lock", { json = { reason = "over TLS" } }))
    assert.equal(201, r.status, r.body)
    local l = ngxs.emu_lock(e, id)
    assert.equal(l.lock_id, r.json.id)
    assert.equal("over TLS", l.reason)
    r = assert(front:req("GET", "/deals/" .. id .. "/lock"))
    assert.equal(200, r.status, r.body)
    assert.equal("over TLS", r.json.Locked_Reason__s)
    r = assert(front:req("DELETE", "/deals/" .. id .. "/lock"))
    assert.equal(200, r.status, r.body)
    assert.is_nil(ngxs.emu_lock(e, id))
  end)

  it("refuses a certificate it cannot verify: TLS error, nothing sent", function()
    local id = ngxs.unlocked_deals(e, 1)[1]
    local r = assert(other:req("POST", "/deals/" .. id .. "/lock", { json = { reason = "must not land" } }))
    assert.equal(502, r.status, r.body)
    assert.equal("TLS", r.json.error.code)
    assert.is_false(r.json.error.retryable)
    assert.is_nil(ngxs.emu_lock(e, id))
    assert.is_nil(r.body:find(emu.ACCESS_TOKEN, 1, true))
  end)
end)
