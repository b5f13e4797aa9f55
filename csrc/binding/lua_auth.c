/* lua_auth.c - core.exchange_code(cfg, code): a self client's grant code exchanged for a
 * refresh token (zl_auth_exchange_code). cfg: the options of core.client (dc, env,
 * accounts_domain, client_id, client_secret, timeouts, ca_file). Returns a table
 * { refresh_token, access_token, expires_in, api_domain }, or nil and an error table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lua_binding.h"

int zlb_exchange_code(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    const char *code = luaL_checkstring(L, 2);
    zl_config cfg;
    zlb_read_config(L, &cfg);
    zl_grant g;
    zl_error err = {0};
    if (zl_auth_exchange_code(&cfg, code, &g, &err)) {
        int n = zlb_fail(L, &err);
        zl_error_clear(&err);
        return n;
    }
    lua_createtable(L, 0, 4);
    lua_pushstring(L, g.refresh_token);
    lua_setfield(L, -2, "refresh_token");
    lua_pushstring(L, g.access_token);
    lua_setfield(L, -2, "access_token");
    lua_pushnumber(L, g.expires_in);
    lua_setfield(L, -2, "expires_in");
    if (g.api_domain) {
        lua_pushstring(L, g.api_domain);
        lua_setfield(L, -2, "api_domain");
    }
    zl_grant_free(&g);
    return 1;
}

/* core.write_private(dir, name, text) -> true | nil, message: creates dir (0700, parents
 * too) and writes dir/name atomically (a 0600 temp file renamed over it). For files holding
 * secrets (the credentials file). */
int zlb_write_private(lua_State *L) {
    const char *dir = luaL_checkstring(L, 1), *name = luaL_checkstring(L, 2);
    size_t len;
    const char *text = luaL_checklstring(L, 3, &len);
    char p[1024], tmp[1100], why[1400] = "";
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p || strchr(name, '/')) {
        lua_pushnil(L);
        lua_pushstring(L, "path too long or name holds '/'");
        return 2;
    }
    for (char *q = p + 1; *q; q++) {
        if (*q != '/') continue;
        *q = '\0';
        if (mkdir(p, 0700) && errno != EEXIST) snprintf(why, sizeof why, "cannot create %s: %s", p, strerror(errno));
        *q = '/';
    }
    if (!why[0] && mkdir(p, 0700) && errno != EEXIST) snprintf(why, sizeof why, "cannot create %s: %s", p, strerror(errno));
    if (!why[0] && chmod(p, 0700)) snprintf(why, sizeof why, "cannot chmod %s: %s", p, strerror(errno));
    snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", p, name);
    int fd = why[0] ? -1 : mkstemp(tmp);
    if (!why[0] && fd < 0) snprintf(why, sizeof why, "cannot create a file in %s: %s", p, strerror(errno));
    if (fd >= 0) {
        char dst[1100];
        snprintf(dst, sizeof dst, "%s/%s", p, name);
        bool ok = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
        if (close(fd)) ok = false;
        if (!ok || rename(tmp, dst)) {
            snprintf(why, sizeof why, "cannot write %s: %s", dst, strerror(errno));
            unlink(tmp);
        }
    }
    if (why[0]) { lua_pushnil(L); lua_pushstring(L, why); return 2; }
    lua_pushboolean(L, 1);
    return 1;
}
