/* lua_core.c - luaopen_zlock_core: the C module under lua/zlock/init.lua.
 *   core.client(cfg) -> client | nil, err        (lua_client.c: :call :run :request :set_token
 *                                                 :token :info :close; calls: lua_call.c)
 *   core.check_module/check_id/check_reason(s) -> nil | why
 *   core.decode(json_text) -> value | nil, why    (lua_json.c; null = cjson.null)
 *   core.sleep(ms)   core.version   core.curl_version()   core.engine (B2's bulk engine)
 * No libcurl work happens at require time: libcurl is dlopen'ed at the first transfer. */
#include "lua_binding.h"
#include "transport_curl.h"

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

static const luaL_Reg funcs[] = {
    { "curl_version", l_curl_version },
    { "decode", zlb_json_decode },
    { "client", zlb_client_new },
    { "check_module", l_check_module },
    { "check_id", l_check_id },
    { "check_reason", l_check_reason },
    { "sleep", l_sleep },
    { NULL, NULL }
};

__attribute__((visibility("default"))) int luaopen_zlock_core(lua_State *L) {
    /* curl_global_init (OpenSSL setup: milliseconds) waits for the first transfer slot */
    zlb_client_register(L);
    zlb_call_register(L);
    lua_newtable(L);
    zlc_setfuncs(L, funcs);
    zlb_engine_register(L);
    lua_pushliteral(L, ZL_VERSION);
    lua_setfield(L, -2, "version");
    return 1;
}
