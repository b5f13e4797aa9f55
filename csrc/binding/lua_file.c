/* lua_file.c - core.lock_file(path): the file `path` (created when missing, mode 0666 less the
 * umask) held under an exclusive advisory lock, flock(LOCK_EX | LOCK_NB), until :close() or
 * garbage collection. Another holder, in this process or another, makes it fail at once.
 *   core.lock_file(path) -> lock | nil, message, "busy" (held elsewhere) | "open" | "lock"
 *     (message: "PATH: strerror", or for "busy" "PATH is locked by another process ...")
 *   lock:sync()  -> true | nil, message   (fsync: the file's data reaches the disk)
 *   lock:close() -> true                  (releases the lock; idempotent) */
#include "lua_binding.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define ZLB_FILE_LOCK "zlock.core.file_lock"

typedef struct { int fd; } zlb_file_lock;

static int fail3(lua_State *L, const char *path, int err, const char *kind) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", path, strerror(err));
    lua_pushstring(L, kind);
    return 3;
}

static int l_lock_file(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    zlb_file_lock *lk = lua_newuserdata(L, sizeof *lk);
    lk->fd = -1;
    luaL_getmetatable(L, ZLB_FILE_LOCK);
    lua_setmetatable(L, -2);
    int fd;
    do fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666); while (fd < 0 && errno == EINTR);
    if (fd < 0) return fail3(L, path, errno, "open");
    int r;
    do r = flock(fd, LOCK_EX | LOCK_NB); while (r != 0 && errno == EINTR);
    if (r != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK) {
            lua_pushnil(L);
            lua_pushfstring(L, "%s is locked by another process (another run on the same file?)", path);
            lua_pushliteral(L, "busy");
            return 3;
        }
        return fail3(L, path, e, "lock");
    }
    lk->fd = fd;
    return 1;
}

static int l_sync(lua_State *L) {
    zlb_file_lock *lk = luaL_checkudata(L, 1, ZLB_FILE_LOCK);
    if (lk->fd < 0) return luaL_error(L, "file lock already closed");
    if (fsync(lk->fd) != 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "fsync: %s", strerror(errno));
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int l_close(lua_State *L) {
    zlb_file_lock *lk = luaL_checkudata(L, 1, ZLB_FILE_LOCK);
    if (lk->fd >= 0) close(lk->fd);   /* closing the last descriptor releases the flock */
    lk->fd = -1;
    lua_pushboolean(L, 1);
    return 1;
}

void zlb_file_register(lua_State *L) {
    static const luaL_Reg methods[] = { { "sync", l_sync }, { "close", l_close }, { NULL, NULL } };
    static const luaL_Reg meta[] = { { "__gc", l_close }, { NULL, NULL } };
    zlc_newclass(L, ZLB_FILE_LOCK, methods, meta);
    lua_pushcfunction(L, l_lock_file);
    lua_setfield(L, -2, "lock_file");
}
