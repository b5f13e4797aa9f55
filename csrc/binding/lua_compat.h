/* lua_compat.h - the few Lua 5.1/LuaJIT differences the binding meets. Every shim is
 * static and zlc_-prefixed: LuaJIT's headers already declare luaL_setfuncs & co, so
 * shims with the 5.2 names would clash. */
#ifndef ZLOCK_LUA_COMPAT_H
#define ZLOCK_LUA_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if defined(__GNUC__)
#define ZLC_UNUSED __attribute__((unused))
#else
#define ZLC_UNUSED
#endif

static ZLC_UNUSED void zlc_setfuncs(lua_State *L, const luaL_Reg *l) {
#if LUA_VERSION_NUM >= 502
    luaL_setfuncs(L, l, 0);
#else
    for (; l->name; l++) {
        lua_pushcfunction(L, l->func);
        lua_setfield(L, -2, l->name);
    }
#endif
}

static ZLC_UNUSED size_t zlc_rawlen(lua_State *L, int idx) {
#if LUA_VERSION_NUM >= 502
    return (size_t)lua_rawlen(L, idx);
#else
    return lua_objlen(L, idx);
#endif
}

/* Creates the metatable `name` with methods (as __index) and metamethods. */
static ZLC_UNUSED void zlc_newclass(lua_State *L, const char *name, const luaL_Reg *methods,
                                    const luaL_Reg *meta) {
    luaL_newmetatable(L, name);
    zlc_setfuncs(L, meta);
    lua_newtable(L);
    zlc_setfuncs(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "zlock private");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
}

#endif
