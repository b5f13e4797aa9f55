/* lua_env.c - core.environ_names() -> { "HOME", "PATH", ... }: the names of the process's
 * environment variables (Lua's os.getenv reads one name; misspelt settings need them all). */
#include "lua_binding.h"

#include <string.h>

extern char **environ;

static int l_environ_names(lua_State *L) {
    lua_newtable(L);
    int i = 0;
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        lua_pushlstring(L, *e, eq ? (size_t)(eq - *e) : strlen(*e));
        lua_rawseti(L, -2, ++i);
    }
    return 1;
}

void zlb_env_register(lua_State *L) {
    lua_pushcfunction(L, l_environ_names);
    lua_setfield(L, -2, "environ_names");
}
