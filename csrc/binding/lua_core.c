/* lua_core.c - luaopen_zlock_core: the C module under lua/zlock/init.lua.
 *   core.client(cfg) -> client | nil, err        (lua_client.c: :call :run :request :set_token
 *                                                 :token :info :close; calls: lua_call.c)
 *   core.check_module/check_id/check_reason(s) -> nil | why
 *   core.halts(err) -> boolean        (zl_error_halts on an error table's code and retryable)
 *   core.pick_lock(list_body) -> lock id | nil   (the record's Manual lock, else its first)
 *   core.decode(json_text) -> value | nil, why    (lua_json.c; null = cjson.null)
 *   core.sleep(ms)   core.version   core.curl_version()   core.engine (the bulk engine)
 *   core.defaults() -> {name = default}   core.limits() -> {name = {min, max}}
 *        (the C settings, named like their zl_config / zl_bulk_opts fields)
 *   core.trap_sigint(err[, safe[, notice]])  core.sigint_count()   (lua_signal.c: Ctrl-C)
 * No libcurl work happens at require time: libcurl is dlopen'ed at the first transfer. */
#include <stdio.h>
#include "lua_binding.h"
#include "internal.h"
#include "transport_curl.h"
#include "zlock_bulk.h"

void zlb_push_error(lua_State *L, const zl_error *e) {
    lua_createtable(L, 0, 5);
    lua_pushstring(L, e && e->code[0] ? e->code : "INTERNAL");
    lua_setfield(L, -2, "code");
    lua_pushstring(L, e ? e->message : "unknown error");
    lua_setfield(L, -2, "message");
    if (e && e->http_status) {
        lua_pushinteger(L, e->http_status);
        lua_setfield(L, -2, "http_status");
    }
    lua_pushboolean(L, e && e->retryable);
    lua_setfield(L, -2, "retryable");
    if (e && e->details) {
        lua_pushstring(L, e->details);
        lua_setfield(L, -2, "details");
    }
}

int zlb_fail(lua_State *L, const zl_error *e) {
    lua_pushnil(L);
    zlb_push_error(L, e);
    return 2;
}

static int check_with(lua_State *L, const char *(*fn)(const char *, size_t)) {
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    const char *why = fn(s, n);
    if (why) lua_pushstring(L, why); else lua_pushnil(L);
    return 1;
}
static int l_check_module(lua_State *L) { return check_with(L, zl_check_module); }
static int l_check_id(lua_State *L) { return check_with(L, zl_check_id); }
static int l_check_reason(lua_State *L) { return check_with(L, zl_check_reason); }

/* core.halts(err): the halt rule on a Lua error table ({code=, retryable=}); false for a non-table */
static int l_halts(lua_State *L) {
    zl_error e = {0};
    if (lua_type(L, 1) == LUA_TTABLE) {
        lua_getfield(L, 1, "code");
        const char *code = lua_tostring(L, -1);
        if (code) snprintf(e.code, sizeof e.code, "%s", code);
        lua_getfield(L, 1, "retryable");
        e.retryable = lua_toboolean(L, -1);
        lua_pop(L, 2);
    }
    lua_pushboolean(L, zl_error_halts(&e));
    return 1;
}

/* core.pick_lock(body): the lock id of the record's lock that zlock removes or reports first */
static int l_pick_lock(lua_State *L) {
    size_t n;
    const char *body = luaL_checklstring(L, 1, &n);
    zl_lock_pick p;
    if (zl_response_pick(body, n, NULL, &p)) lua_pushstring(L, p.held);
    else lua_pushnil(L);
    return 1;
}

static int l_sleep(lua_State *L);
static int l_sleep(lua_State *L) {
    lua_Number ms = luaL_checknumber(L, 1);
    zl_sleep_ms(ms > 0 ? (long)ms : 0);
    return 0;
}

/* core.curl_version() -> "7.88.1" (loads libcurl if it is not yet) */
static int l_curl_version(lua_State *L) {
    curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    if (!v) return luaL_error(L, "%s", zl_curl_load_error());
    lua_pushstring(L, v->version);
    return 1;
}

static void set_num(lua_State *L, const char *k, double v) {
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

/* core.defaults(): what zl_config_init and zl_bulk_opts_init set (their one home). */
static int l_defaults(lua_State *L) {
    zl_config c;
    zl_config_init(&c);
    zl_bulk_opts b;
    zl_bulk_opts_init(&b);
    lua_createtable(L, 0, 14);
    lua_pushstring(L, c.api_version);
    lua_setfield(L, -2, "api_version");
    lua_pushstring(L, c.user_agent);
    lua_setfield(L, -2, "user_agent");
    set_num(L, "refresh_ahead_s", c.refresh_ahead_s);
    set_num(L, "connect_timeout_ms", (double)c.connect_timeout_ms);
    set_num(L, "timeout_ms", (double)c.timeout_ms);
    set_num(L, "max_response_bytes", (double)c.max_response_bytes);
    set_num(L, "max_attempts", c.max_attempts);
    set_num(L, "max_time_ms", (double)c.max_time_ms);
    set_num(L, "base_delay_ms", (double)c.base_delay_ms);
    set_num(L, "max_delay_ms", (double)c.max_delay_ms);
    set_num(L, "org_limit", c.org_limit);
    set_num(L, "org_reserve", c.org_reserve);
    set_num(L, "concurrency", b.concurrency);
    set_num(L, "threads", b.threads);
    return 1;
}

static void set_limit(lua_State *L, const char *k, double min, double max) {
    lua_createtable(L, 2, 0);
    lua_pushnumber(L, min);
    lua_rawseti(L, -2, 1);
    lua_pushnumber(L, max);
    lua_rawseti(L, -2, 2);
    lua_setfield(L, -2, k);
}

/* core.limits(): the allowed ranges the core enforces (zl_config_limits, zlock_bulk.h). */
static int l_limits(lua_State *L) {
    size_t n;
    const zl_config_limit *l = zl_config_limits(&n);
    lua_createtable(L, 0, (int)n + 3);
    for (size_t i = 0; i < n; i++) set_limit(L, l[i].name, l[i].min, l[i].max);
    set_limit(L, "api_version", ZL_API_VERSION_MIN, ZL_API_VERSION_MAX);
    set_limit(L, "concurrency", 1, ZL_BULK_MAX_CONCURRENCY);
    set_limit(L, "threads", 0, ZL_BULK_MAX_THREADS);
    return 1;
}

static const luaL_Reg funcs[] = {
    { "defaults", l_defaults },
    { "limits", l_limits },
    { "curl_version", l_curl_version },
    { "decode", zlb_json_decode },
    { "client", zlb_client_new },
    { "exchange_code", zlb_exchange_code },
    { "write_private", zlb_write_private },
    { "redis_url", zlb_redis_url },
    { "budget", zlb_budget },
    { "budget_signal", zlb_budget_signal },
    { "check_module", l_check_module },
    { "check_id", l_check_id },
    { "check_reason", l_check_reason },
    { "halts", l_halts },
    { "pick_lock", l_pick_lock },
    { "sleep", l_sleep },
    { "trap_sigint", zlb_trap_sigint },
    { "sigint_count", zlb_sigint_count },
    { NULL, NULL }
};

__attribute__((visibility("default"))) int luaopen_zlock_core(lua_State *L) {
    /* curl_global_init (OpenSSL setup: milliseconds) waits for the first transfer slot */
    zlb_client_register(L);
    zlb_call_register(L);
    lua_newtable(L);
    zlc_setfuncs(L, funcs);
    zlb_engine_register(L);
    zlb_file_register(L);
    zlb_env_register(L);
    lua_pushliteral(L, ZL_VERSION);
    lua_setfield(L, -2, "version");
    return 1;
}
