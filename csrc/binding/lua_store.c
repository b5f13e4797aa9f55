/* lua_store.c - what a token store written in Lua (nginx, over cosockets) takes from the core,
 * so both sides name and read entries the same way:
 *   core.redis_url(url) -> { host, port, db, tls, user, password } | nil, message (no password in it)
 *   client:token_store_key() -> hex SHA-256 of accounts domain, client id, refresh token
 *   client:learn_api_domain(domain) -> true | nil, why (ignored when api_domain is fixed)
 * and what a fleet budget holder written in Lua needs to run the core's script (budget.h):
 *   core.budget() -> { script, lease_ms, heartbeat_ms, redis_ms, initial, decrease, probe }
 *   client:budget() -> { key, limit, reserve, class ("i", or "b" with org_priority bulk) } | nil (no budget: no redis_url, or org_budget off)
 *   core.budget_signal(status, errcode, credits) -> what to give a slot back with */
#include <string.h>
#include "lua_binding.h"
#include "budget_client.h"
#include "token_store.h"
#include "window.h"

int zlb_redis_url(lua_State *L) {
    const char *url = luaL_checkstring(L, 1);
    zl_redis_url u;
    char why[256];
    if (zl_redis_url_parse(url, &u, why, sizeof why)) {
        lua_pushnil(L);
        lua_pushfstring(L, "redis_url %s", why);
        return 2;
    }
    lua_createtable(L, 0, 5);
    lua_pushstring(L, u.host);
    lua_setfield(L, -2, "host");
    lua_pushinteger(L, u.port);
    lua_setfield(L, -2, "port");
    lua_pushinteger(L, u.db);
    lua_setfield(L, -2, "db");
    lua_pushboolean(L, u.tls);
    lua_setfield(L, -2, "tls");
    if (u.user[0]) { lua_pushstring(L, u.user); lua_setfield(L, -2, "user"); }
    if (u.pass[0]) { lua_pushstring(L, u.pass); lua_setfield(L, -2, "password"); }
    memset(&u, 0, sizeof u);
    return 1;
}

static zl_client *client_arg(lua_State *L) {
    zlb_client *u = luaL_checkudata(L, 1, ZLB_CLIENT);
    if (!u->c) luaL_error(L, "zlock client is closed");
    return u->c;
}

int zlb_token_store_key(lua_State *L) {
    zl_client *c = client_arg(L);
    if (!zl_client_can_refresh(c)) return 0;
    char key[65];
    zl_token_store_key(c, key);
    lua_pushstring(L, key);
    return 1;
}

int zlb_learn_api_domain(lua_State *L) {
    zl_client *c = client_arg(L);
    const char *why = NULL;
    if (zl_client_learn_api_domain(c, luaL_checkstring(L, 2), &why)) {
        lua_pushnil(L);
        lua_pushstring(L, why ? why : "unusable domain");
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

int zlb_budget(lua_State *L) {
    lua_createtable(L, 0, 7);
    lua_pushstring(L, zl_budget_script);
    lua_setfield(L, -2, "script");
    lua_pushinteger(L, ZL_BUDGET_LEASE_MS);
    lua_setfield(L, -2, "lease_ms");
    lua_pushinteger(L, ZL_BUDGET_HEARTBEAT_MS);
    lua_setfield(L, -2, "heartbeat_ms");
    lua_pushinteger(L, ZL_BUDGET_REDIS_MS);
    lua_setfield(L, -2, "redis_ms");
    lua_pushinteger(L, ZL_WINDOW_INITIAL);
    lua_setfield(L, -2, "initial");
    lua_pushnumber(L, ZL_WINDOW_DECREASE);
    lua_setfield(L, -2, "decrease");
    lua_pushinteger(L, ZL_WINDOW_PROBE);
    lua_setfield(L, -2, "probe");
    return 1;
}

int zlb_client_budget(lua_State *L) {
    const zl_budget_conf *bc = zl_client_budget(client_arg(L));
    if (!bc) return 0;
    lua_createtable(L, 0, 3);
    lua_pushstring(L, bc->key);
    lua_setfield(L, -2, "key");
    lua_pushinteger(L, bc->limit);
    lua_setfield(L, -2, "limit");
    lua_pushnumber(L, bc->reserve);
    lua_setfield(L, -2, "reserve");
    lua_pushstring(L, bc->calls_bulk ? "b" : "i");
    lua_setfield(L, -2, "class");
    return 1;
}

/* core.budget_signal(status, errcode, credits): what a reply says of the org's limit
 * (zl_budget_signal): the status, or 0 for no reply and for a 429 saying the credits are spent. */
int zlb_budget_signal(lua_State *L) {
    int status = (int)luaL_optinteger(L, 1, 0);
    bool no_reply = !lua_isnoneornil(L, 2);
    long credits = lua_isnumber(L, 3) ? (long)lua_tointeger(L, 3) : -1;
    lua_pushinteger(L, zl_budget_signal(status, no_reply ? ZL_TERR_OTHER : ZL_TERR_NONE, credits));
    return 1;
}
