-- zlock: Zoho CRM record locks from Lua, over a C core (libcurl, jansson).
-- Offline install on Debian (lua-cjson, libcurl and jansson from apt), from the repository's top:
--   luarocks --lua-version=5.4 make --deps-mode=none
-- LuaJIT (Debian luajit2): luarocks --lua-version=5.1 make --deps-mode=none \
--   LUA_INCDIR=/usr/include/luajit-2.1 LUA=/usr/bin/luajit
-- Online: luarocks make (fetches lua-cjson from luarocks.org).
-- The tagged release of zlock-scm-1.rockspec (same build; only version and source differ).
rockspec_format = "3.0"
package = "zlock"
version = "0.1.0-1"

source = {
  url = "git+https://github.com/zlock-lua/zlock.git",
  tag = "v0.1.0",
}

description = {
  summary = "Zoho CRM record locking (lock, get, update, unlock) from Lua, over a C/libcurl core",
  detailed = [[
zlock locks, reads, updates and unlocks Zoho CRM records through the Locking_Information__s
API. One reused connection per client, retries with backoff, OAuth refresh with one refresh in
flight, every Zoho data centre. Results are Lua tables with Zoho's field names; ids stay strings.
Bulk lock policies run by the `zlock` command; an nginx/OpenResty transport.
]],
  homepage = "https://github.com/zlock-lua/zlock",
  issues_url = "https://github.com/zlock-lua/zlock/issues",
  license = "MIT",
  labels = { "zoho", "crm", "http", "libcurl" },
}

-- libcurl is loaded with dlopen("libcurl.so.4") at the first transfer: an ELF soname.
supported_platforms = { "linux" }

dependencies = {
  "lua >= 5.1",
  "lua-cjson",
}

-- jansson is linked; libcurl is dlopen'ed (its headers are needed to build, its library to run).
-- Only the libraries are checked: curl.h lives in /usr/include/<triplet>/curl on Debian, which
-- a header check would miss; the Makefile asks pkg-config for the compiler flags.
external_dependencies = {
  CURL = { library = "curl" },
  JANSSON = { library = "jansson" },
  HIREDIS = { library = "hiredis" },   -- the Redis token store's RESP codec (libhiredis-dev)
}

build = {
  type = "make",
  -- rock.mk: objects and module under build/rock/<LUA_INCDIR>/, one directory per Lua ABI;
  -- zlock-emu, or without libmicrohttpd/jansson a script saying so (emu/emu.mk)
  build_target = "rock build/rock-bin/zlock-emu",
  build_variables = {
    LUA = "rock",
    LUA_INCDIR = "$(LUA_INCDIR)",
    LIBFLAG = "$(LIBFLAG)",
    CFLAGS = "$(CFLAGS) -I$(LUA_INCDIR)",
    CC = "$(CC)",
  },
  install_target = "rock-install",
  install_variables = {
    LUA = "rock",
    LUA_INCDIR = "$(LUA_INCDIR)",
    LIBDIR = "$(LIBDIR)",
  },
  install = {
    lua = {
      ["zlock.audit"] = "lua/zlock/audit.lua",
      ["zlock.bulk"] = "lua/zlock/bulk.lua",
      ["zlock.cli"] = "lua/zlock/cli.lua",
      ["zlock.cli_fixture"] = "lua/zlock/cli_fixture.lua",
      ["zlock.cli_config"] = "lua/zlock/cli_config.lua",
      ["zlock.cli_help"] = "lua/zlock/cli_help.lua",
      ["zlock.cli_json"] = "lua/zlock/cli_json.lua",
      ["zlock.cli_ops"] = "lua/zlock/cli_ops.lua",
      ["zlock.cli_out"] = "lua/zlock/cli_out.lua",
      ["zlock.cli_run"] = "lua/zlock/cli_run.lua",
      ["zlock.cli_auth"] = "lua/zlock/cli_auth.lua",
      ["zlock.client"] = "lua/zlock/client.lua",
      ["zlock.drive"] = "lua/zlock/drive.lua",
      ["zlock.budget"] = "lua/zlock/budget.lua",
      ["zlock.config"] = "lua/zlock/config.lua",
      ["zlock.config_plan"] = "lua/zlock/config_plan.lua",
      ["zlock.cqueues"] = "lua/zlock/cqueues.lua",
      ["zlock.cqueues_redis"] = "lua/zlock/cqueues_redis.lua",
      ["zlock.engine"] = "lua/zlock/engine.lua",
      ["zlock.credentials"] = "lua/zlock/credentials.lua",
      ["zlock.engine_multi"] = "lua/zlock/engine_multi.lua",
      ["zlock.engine_seq"] = "lua/zlock/engine_seq.lua",
      ["zlock.error"] = "lua/zlock/error.lua",
      ["zlock.haproxy"] = "lua/zlock/haproxy.lua",
      ["zlock.haproxy_token"] = "lua/zlock/haproxy_token.lua",
      ["zlock"] = "lua/zlock/init.lua",
      ["zlock.journal"] = "lua/zlock/journal.lua",
      ["zlock.log"] = "lua/zlock/log.lua",
      ["zlock.ngx.engine"] = "lua/zlock/ngx/engine.lua",
      ["zlock.ngx.http"] = "lua/zlock/ngx/http.lua",
      ["zlock.ngx.redis_store"] = "lua/zlock/ngx/redis_store.lua",
      ["zlock.ngx"] = "lua/zlock/ngx/init.lua",
      ["zlock.ngx.token"] = "lua/zlock/ngx/token.lua",
      ["zlock.ngx.transport"] = "lua/zlock/ngx/transport.lua",
      ["zlock.options"] = "lua/zlock/options.lua",
      ["zlock.params"] = "lua/zlock/params.lua",
      ["zlock.policy"] = "lua/zlock/policy.lua",
      ["zlock.policy_run"] = "lua/zlock/policy_run.lua",
      ["zlock.progress"] = "lua/zlock/progress.lua",
      ["zlock.proxy"] = "lua/zlock/proxy.lua",
      ["zlock.redis_client"] = "lua/zlock/redis_client.lua",
      ["zlock.redis_store"] = "lua/zlock/redis_store.lua",
      ["zlock.select"] = "lua/zlock/select.lua",
      ["zlock.testing"] = "lua/zlock/testing.lua",
      ["zlock.testing.assertions"] = "lua/zlock/testing/assertions.lua",
      ["zlock.testing.emulator"] = "lua/zlock/testing/emulator.lua",
      ["zlock.testing.fixture"] = "lua/zlock/testing/fixture.lua",
      ["zlock.testing.run"] = "lua/zlock/testing/run.lua",
      ["zlock.token_store"] = "lua/zlock/token_store.lua",
      ["zlock.transport"] = "lua/zlock/transport.lua",
      ["zlock.webhook"] = "lua/zlock/webhook.lua",
    },
    bin = {
      ["zlock"] = "bin/zlock",
      ["zlock-emu"] = "build/rock-bin/zlock-emu",
    },
    -- the command's shell completions and man page (README: "Shell completions and man page")
    conf = {
      ["completions/zlock.bash"] = "completions/zlock.bash",
      ["completions/_zlock"] = "completions/_zlock",
      ["man/zlock.1"] = "man/zlock.1",
    },
  },
}
