/* lua_client.c - the client userdata: core.client(cfg) and its methods
 *   :call(kind, module, record_id, lock_id, reason, params, rerun) -> call | nil, err
 *        kind: "get_one" | "list" | "lock" | "update" | "unlock"; params: {key = "value"};
 *        rerun: zl_op.rerun (a bulk lock an earlier run may have applied)
 *   :run(kind, module, record_id, lock_id, reason, params, rerun) -> result | nil, err
 *        | false, call, wait_step   (the fast path: create + drive with libcurl in one
 *        crossing; returns early only for a backoff, so on_retry runs in plain Lua)
 *   :request(method, path, params, body, idempotent(-1|0|1)) -> call | nil, err
 *   :set_token(token, expires_at)   :token() -> token, expires_at   :info() -> table
 *   :store_token(token, expires_at, api_domain) -> "file" | "redis" (saved) | false (no store)
 *        | nil, err: zl_client_store_token (for `zlock auth`: the exchange's access token)
 *   :token_store_key() -> hex key of this client's token store entry (lua_store.c)
 *   :learn_api_domain(domain) -> true | nil, why: the domain rule for a domain a store named
 *   :close() (idempotent; also __gc and, on 5.4, __close)
 * The token is never part of __tostring or of any error. */
#include <stdlib.h>
#include <string.h>
#include "lua_binding.h"
#include "internal.h"
#include "transport_curl.h"

static zlb_client *check_client(lua_State *L) {
    zlb_client *u = luaL_checkudata(L, 1, ZLB_CLIENT);
    if (!u->c) luaL_error(L, "zlock client is closed");
    return u;
}

static const char *opt_str(lua_State *L, int t, const char *k) {
    lua_getfield(L, t, k);
    const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    lua_pop(L, 1);   /* the string stays alive: it is referenced by the table */
    return s;
}

/* Numeric setting `k` (a zl_config field name) when the table has it, else def (the default of
 * zl_config_init). A value outside the setting's limits becomes one just outside them, so the
 * cast below stays defined and zl_client_new refuses it with the range in its message. */
static double setting(lua_State *L, const char *k, double def) {
    double v = zlb_opt_num(L, 1, k, def);
    const zl_config_limit *l = zl_config_limit_of(k);
    if (l && !(v >= l->min)) return v < l->min ? l->min - 1 : l->max + 1;   /* NaN: above */
    if (l && v > l->max) return l->max + 1;
    return v;
}

void zlb_read_config(lua_State *L, zl_config *cfg_out) {
    zl_config cfg;
    zl_config_init(&cfg);
    cfg.api_domain = opt_str(L, 1, "api_domain");
    cfg.accounts_domain = opt_str(L, 1, "accounts_domain");
    cfg.dc = opt_str(L, 1, "dc");
    cfg.env = opt_str(L, 1, "env");
    const char *v = opt_str(L, 1, "api_version");
    if (v) cfg.api_version = v;
    cfg.access_token = opt_str(L, 1, "access_token");
    cfg.token_expires_at = zlb_opt_num(L, 1, "expires_at", 0);
    cfg.client_id = opt_str(L, 1, "client_id");
    cfg.client_secret = opt_str(L, 1, "client_secret");
    cfg.refresh_token = opt_str(L, 1, "refresh_token");
    cfg.refresh_ahead_s = setting(L, "refresh_ahead_s", cfg.refresh_ahead_s);
    cfg.token_store = opt_str(L, 1, "token_store");
    cfg.redis_url = opt_str(L, 1, "redis_url");
    cfg.token_cache_dir = opt_str(L, 1, "token_cache_dir");
    lua_getfield(L, 1, "org_budget");
    if (!lua_isnil(L, -1)) cfg.org_budget = lua_toboolean(L, -1) ? 1 : -1;
    lua_pop(L, 1);
    cfg.org_limit = (int)setting(L, "org_limit", cfg.org_limit);
    cfg.org_reserve = setting(L, "org_reserve", cfg.org_reserve);
    cfg.org_id = opt_str(L, 1, "org_id");
    cfg.org_priority = opt_str(L, 1, "org_priority");
    cfg.ca_file = opt_str(L, 1, "ca_file");
    cfg.user_agent = opt_str(L, 1, "user_agent");
    cfg.proxy = opt_str(L, 1, "proxy");
    cfg.connect_timeout_ms = (long)setting(L, "connect_timeout_ms", (double)cfg.connect_timeout_ms);
    cfg.timeout_ms = (long)setting(L, "timeout_ms", (double)cfg.timeout_ms);
    cfg.max_response_bytes = (size_t)setting(L, "max_response_bytes", (double)cfg.max_response_bytes);
    cfg.max_attempts = (int)setting(L, "max_attempts", cfg.max_attempts);
    cfg.max_time_ms = (long)setting(L, "max_time_ms", (double)cfg.max_time_ms);
    cfg.base_delay_ms = (long)setting(L, "base_delay_ms", (double)cfg.base_delay_ms);
    cfg.max_delay_ms = (long)setting(L, "max_delay_ms", (double)cfg.max_delay_ms);
    double seed = zlb_opt_num(L, 1, "seed", 0);
    cfg.seed = seed >= 1 && seed < 18446744073709551616.0 ? (uint64_t)seed : 0;
    *cfg_out = cfg;
}

int zlb_client_new(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    zl_config cfg;
    zlb_read_config(L, &cfg);
    zlb_client *u = lua_newuserdata(L, sizeof *u);
    u->c = NULL;
    luaL_getmetatable(L, ZLB_CLIENT);
    lua_setmetatable(L, -2);
    zl_error err = {0};
    u->c = zl_client_new(&cfg, &err);
    if (!u->c) {
        lua_pop(L, 1);
        int n = zlb_fail(L, &err);
        zl_error_clear(&err);
        return n;
    }
    return 1;
}

static int push_new_call(lua_State *L, zlb_client *u, const zl_op *op) {
    zl_error err = {0};
    zl_call *call = zl_call_new(u->c, op, &err);
    if (!call) {
        int n = zlb_fail(L, &err);
        zl_error_clear(&err);
        return n;
    }
    return zlb_push_call(L, call);
}

static int l_call(lua_State *L) {
    zlb_client *u = check_client(L);
    zl_op op;
    zl_param ps[ZLB_MAX_PARAMS];
    zlb_read_op(L, 2, &op, ps);
    return push_new_call(L, u, &op);
}

static int l_run(lua_State *L) {
    zlb_client *u = check_client(L);
    zl_op op;
    zl_param ps[ZLB_MAX_PARAMS];
    zlb_read_op(L, 2, &op, ps);
    /* the userdata exists before the call, so a Lua memory error below cannot leak it */
    lua_pushboolean(L, 0);
    zlb_call *cu = lua_newuserdata(L, sizeof *cu);
    cu->call = NULL;
    luaL_getmetatable(L, ZLB_CALL);
    lua_setmetatable(L, -2);
    zl_error err = {0};
    if (!(cu->call = zl_call_new(u->c, &op, &err))) {
        int n = zlb_fail(L, &err);
        zl_error_clear(&err);
        return n;
    }
    zl_step w;
    if (zl_call_run(cu->call, &w) == ZL_STEP_WAIT) {
        zlb_push_step(L, &w);        /* false, call, wait step */
        return 3;
    }
    int n = zlb_push_result(L, cu->call);
    zl_call_free(cu->call);
    cu->call = NULL;
    return n;
}

static int l_request(lua_State *L) {
    zlb_client *u = check_client(L);
    zl_op op = {0};
    op.kind = ZL_OP_REQUEST;
    op.method = luaL_checkstring(L, 2);
    op.path = luaL_checkstring(L, 3);
    zl_param ps[ZLB_MAX_PARAMS];
    op.nparams = zlb_read_params(L, 4, ps);
    op.params = ps;
    op.body = luaL_optstring(L, 5, NULL);
    op.idempotent = (int)luaL_optinteger(L, 6, -1);
    return push_new_call(L, u, &op);
}

static int l_set_token(lua_State *L) {
    zlb_client *u = check_client(L);
    const char *t = luaL_checkstring(L, 2);
    double exp = (double)luaL_optnumber(L, 3, 0);
    if (zl_client_set_token(u->c, t, exp)) return luaL_error(L, "could not set the token");
    return 0;
}

static int l_store_token(lua_State *L) {
    zlb_client *u = check_client(L);
    size_t n, dn = 0;
    const char *t = luaL_checklstring(L, 2, &n);
    double exp = (double)luaL_optnumber(L, 3, 0);
    const char *dom = luaL_optlstring(L, 4, NULL, &dn);
    zl_error err = {0};
    if (strlen(t) != n || (dom && strlen(dom) != dn))   /* a NUL would cut the value short */
        zl_err_set(&err, "INVALID_ARGUMENT", 0, false, "%s holds control characters",
                   strlen(t) != n ? "access token" : "api_domain");
    int rc = err.code[0] ? -1 : zl_client_store_token(u->c, t, exp, dom, &err);
    if (rc < 0) {
        int k = zlb_fail(L, &err);
        zl_error_clear(&err);
        return k;
    }
    if (rc > 0) lua_pushstring(L, zl_client_token_store(u->c));
    else lua_pushboolean(L, 0);
    return 1;
}

static int l_token(lua_State *L) {
    zlb_client *u = check_client(L);
    double exp = 0;
    size_t n = zl_client_get_token(u->c, NULL, 0, &exp);
    char *buf = malloc(n + 1);
    if (!buf) return luaL_error(L, "out of memory");
    zl_client_get_token(u->c, buf, n + 1, &exp);
    if (n) lua_pushlstring(L, buf, n); else lua_pushnil(L);
    memset(buf, 0, n);
    free(buf);
    lua_pushnumber(L, exp);
    return 2;
}

static int l_info(lua_State *L) {
    zlb_client *u = check_client(L);
    zl_client *c = u->c;
    char api[512];
    double stored = zl_client_stored_token_expiry(c);   /* first: it may name the API domain */
    lua_createtable(L, 0, 8);
    lua_pushstring(L, zl_client_api_domain(c, api, sizeof api));
    lua_setfield(L, -2, "api_domain");
    lua_pushstring(L, zl_client_accounts_domain(c));
    lua_setfield(L, -2, "accounts_domain");
    lua_pushstring(L, zl_client_api_version(c));
    lua_setfield(L, -2, "api_version");
    lua_pushinteger(L, (lua_Integer)zl_client_refresh_count(c));
    lua_setfield(L, -2, "refreshes");
    lua_pushinteger(L, (lua_Integer)zl_curl_connects(c));
    lua_setfield(L, -2, "connects");
    lua_pushboolean(L, zl_client_can_refresh(c));
    lua_setfield(L, -2, "can_refresh");
    lua_pushstring(L, zl_client_token_store(c));
    lua_setfield(L, -2, "token_store");
    if (stored >= 0) {
        lua_pushnumber(L, stored);
        lua_setfield(L, -2, "stored_token_expires_at");
    }
    return 1;
}

static int l_close(lua_State *L) {
    zlb_client *u = luaL_checkudata(L, 1, ZLB_CLIENT);
    if (u->c) {
        zl_client_free(u->c);
        u->c = NULL;
    }
    return 0;
}

static int l_tostring(lua_State *L) {
    zlb_client *u = luaL_checkudata(L, 1, ZLB_CLIENT);
    char api[512];
    if (u->c) lua_pushfstring(L, "zlock.core.client (%s)", zl_client_api_domain(u->c, api, sizeof api));
    else lua_pushliteral(L, "zlock.core.client (closed)");
    return 1;
}

void zlb_client_register(lua_State *L) {
    static const luaL_Reg methods[] = {
        { "call", l_call }, { "run", l_run }, { "request", l_request }, { "set_token", l_set_token },
        { "store_token", l_store_token }, { "token", l_token }, { "token_store_key", zlb_token_store_key },
        { "budget", zlb_client_budget }, { "learn_api_domain", zlb_learn_api_domain }, { "info", l_info },
        { "close", l_close }, { NULL, NULL }
    };
    static const luaL_Reg meta[] = {
        { "__gc", l_close }, { "__close", l_close }, { "__tostring", l_tostring }, { NULL, NULL }
    };
    zlc_newclass(L, ZLB_CLIENT, methods, meta);
}
