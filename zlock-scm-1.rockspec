-- zlock: Zoho CRM record locks from Lua, over a C core (libcurl).
-- Offline install on Debian (lua-cjson and libcurl from apt):
--   luarocks --lua-version=5.4 make --deps-mode=none
-- Online: luarocks make (fetches lua-cjson from luarocks.org).
rockspec_format = "3.0"
package = "zlock"
version = "scm-1"

source = {
  url = "git+file:///work/main",
}

description = {
  summary = "Zoho CRM record locking (lock, get, update, unlock) from Lua, over a C/libcurl core",
  detailed = [[
zlock locks, reads, updates and unlocks Zoho CRM records through the Locking_Information__s
API. One reused connection per client, retries with backoff, OAuth refresh with one refresh in
flight, every Zoho data centre. Results are Lua tables with Zoho's field names; ids stay strings.
]],
  homepage = "https://example.invalid/zlock",
  license = "MIT",
}

dependencies = {
  "lua >= 5.1",
  "lua-cjson",
}

-- Only the library: curl.h lives in /usr/include/<triplet>/curl on Debian, which a header
-- check would miss unless CURL_INCDIR were passed. The Makefile asks pkg-config for flags.
external_dependencies = {
  CURL = { library = "curl" },
  HIREDIS = { library = "hiredis" },   -- the Redis token store's RESP codec (libhiredis-dev)
}

build = {
  type = "make",
  -- the module only (the `core` target also builds the C unit tests)
  build_target = "build/rock/zlock/core.so",
  -- The Makefile builds build/$(LUA)/zlock/core.so; LUA=rock keeps the rock's build apart
  -- from the per-ABI development builds, LUA_INCDIR picks the headers of the Lua being installed for.
  build_variables = {
    LUA = "rock",
    LUA_INCDIR = "$(LUA_INCDIR)",
    LIBFLAG = "$(LIBFLAG)",
    CFLAGS = "$(CFLAGS) -I$(LUA_INCDIR)",
    CC = "$(CC)",
    CURL_LIBDIR = "$(CURL_LIBDIR)",
  },
  install_pass = false,
  install = {
    lua = {
      ["zlock.audit"] = "lua/zlock/audit.lua",
      ["zlock.bulk"] = "lua/zlock/bulk.lua",
      ["zlock.cli"] = "lua/zlock/cli.lua",
      ["zlock.cli_auth"] = "lua/zlock/cli_auth.lua",
      ["zlock.client"] = "lua/zlock/client.lua",
      ["zlock.cqueues"] = "lua/zlock/cqueues.lua",
      ["zlock.credentials"] = "lua/zlock/credentials.lua",
      ["zlock.engine_multi"] = "lua/zlock/engine_multi.lua",
      ["zlock.engine_seq"] = "lua/zlock/engine_seq.lua",
      ["zlock.error"] = "lua/zlock/error.lua",
      ["zlock.haproxy"] = "lua/zlock/haproxy.lua",
      ["zlock"] = "lua/zlock/init.lua",
      ["zlock.journal"] = "lua/zlock/journal.lua",
      ["zlock.ngx.engine"] = "lua/zlock/ngx/engine.lua",
      ["zlock.ngx.http"] = "lua/zlock/ngx/http.lua",
      ["zlock.ngx.redis_store"] = "lua/zlock/ngx/redis_store.lua",
      ["zlock.ngx"] = "lua/zlock/ngx/init.lua",
      ["zlock.ngx.token"] = "lua/zlock/ngx/token.lua",
      ["zlock.ngx.transport"] = "lua/zlock/ngx/transport.lua",
      ["zlock.options"] = "lua/zlock/options.lua",
      ["zlock.policy"] = "lua/zlock/policy.lua",
      ["zlock.policy_run"] = "lua/zlock/policy_run.lua",
      ["zlock.progress"] = "lua/zlock/progress.lua",
      ["zlock.select"] = "lua/zlock/select.lua",
      ["zlock.token_store"] = "lua/zlock/token_store.lua",
      ["zlock.transport"] = "lua/zlock/transport.lua",
      ["zlock.webhook"] = "lua/zlock/webhook.lua",
    },
    lib = {
      ["zlock.core"] = "build/rock/zlock/core.so",
    },
    bin = {
      ["zlock"] = "bin/zlock",
    },
  },
}
