/* lua_op.c - an operation from Lua arguments, shared by the client's call/run and the bulk
 * engine's submit (the same argument list, at different positions). */
#include "lua_binding.h"

double zlb_opt_num(lua_State *L, int t, const char *k, double def) {
    lua_getfield(L, t, k);
    double v = lua_type(L, -1) == LUA_TNUMBER ? (double)lua_tonumber(L, -1) : def;
    lua_pop(L, 1);
    return v;
}

size_t zlb_read_params(lua_State *L, int idx, zl_param *ps) {
    size_t n = 0;
    if (lua_isnoneornil(L, idx)) return 0;
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "query parameters must be string keys and string values");
        if (n == ZLB_MAX_PARAMS) luaL_error(L, "too many query parameters (max %d)", ZLB_MAX_PARAMS);
        ps[n].key = lua_tostring(L, -2);
        ps[n].value = lua_tostring(L, -1);
        n++;
        lua_pop(L, 1);
    }
    return n;
}

void zlb_read_op(lua_State *L, int idx, zl_op *op, zl_param *ps) {
    static const char *const kinds[] = { "get_one", "list", "lock", "update", "unlock", NULL };
    static const zl_op_kind map[] = { ZL_OP_GET_ONE, ZL_OP_LIST, ZL_OP_LOCK, ZL_OP_UPDATE, ZL_OP_UNLOCK };
    *op = (zl_op){0};
    op->kind = map[luaL_checkoption(L, idx, NULL, kinds)];
    op->module = luaL_optstring(L, idx + 1, NULL);
    op->record_id = luaL_optstring(L, idx + 2, NULL);
    op->lock_id = luaL_optstring(L, idx + 3, NULL);
    op->reason = luaL_optstring(L, idx + 4, NULL);
    op->nparams = zlb_read_params(L, idx + 5, ps);
    op->params = ps;
    op->rerun = lua_toboolean(L, idx + 6);
}
