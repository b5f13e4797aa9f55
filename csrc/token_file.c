/* token_file.c - the file token store: one entry per key under the cache directory
 * ($XDG_CACHE_HOME/zlock, else ~/.cache/zlock; 0700), `<key>.token` (0600) holding
 *     zlock-token 1\n<expires_at>\n<api_domain>\n<access token>\n
 * written atomically (temp file + rename), and `<key>.lock`, whose flock() is the refresh
 * lock (the kernel frees it when its holder dies, so the ttl is not needed). An entry not
 * owned by this user or readable by others is ignored. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "token_store.h"

typedef struct file_store {
    zl_token_store base;
    char dir[512];
    char path[600], lock_path[600];
    int lock_fd;
} file_store;

static void say(char *why, size_t n, const char *what, const char *path) {
    snprintf(why, n, "%s %s: %s", what, path, strerror(errno));
}

static int f_load(zl_token_store *s, zl_stored_token *out, char *why, size_t whyn) {
    file_store *f = (file_store *)s;
    int fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) return 0;
        say(why, whyn, "cannot open", f->path);
        return -1;
    }
    struct stat st;
    char buf[ZL_STORED_TOKEN_MAX + ZL_STORED_DOMAIN_MAX + 64];
    ssize_t n = -1;
    if (fstat(fd, &st) == 0 && st.st_uid == geteuid() && (st.st_mode & 077) == 0 && S_ISREG(st.st_mode))
        n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    char *exp = strchr(buf, '\n'), *dom, *tok, *end;
    if (strncmp(buf, "zlock-token 1\n", 14) != 0 || !exp || !(dom = strchr(exp + 1, '\n')) ||
        !(tok = strchr(dom + 1, '\n')) || !(end = strchr(tok + 1, '\n')))
        return 0;                               /* torn or foreign: as if absent */
    *dom++ = '\0'; *tok++ = '\0'; *end = '\0';
    out->expires_at = atof(exp + 1);
    if ((size_t)(tok - dom) > sizeof out->api_domain || (size_t)(end - tok) >= sizeof out->token) return 0;
    memcpy(out->api_domain, dom, (size_t)(tok - dom));
    memcpy(out->token, tok, (size_t)(end - tok) + 1);
    return 1;
}

/* mkdir -p for the cache directory; the last component 0700 (tightened if wider). */
static int make_dir(file_store *f, char *why, size_t whyn) {
    char p[sizeof f->dir];
    snprintf(p, sizeof p, "%s", f->dir);
    for (char *q = p + 1; *q; q++) {
        if (*q != '/') continue;
        *q = '\0';
        if (mkdir(p, 0700) && errno != EEXIST) { say(why, whyn, "cannot create", p); return -1; }
        *q = '/';
    }
    if (mkdir(p, 0700) && errno != EEXIST) { say(why, whyn, "cannot create", p); return -1; }
    struct stat st;
    if (stat(p, &st) || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
        snprintf(why, whyn, "%s is not a directory of this user", p);
        return -1;
    }
    if ((st.st_mode & 077) && chmod(p, 0700)) { say(why, whyn, "cannot chmod", p); return -1; }
    return 0;
}

static int f_save(zl_token_store *s, const zl_stored_token *t, char *why, size_t whyn) {
    file_store *f = (file_store *)s;
    if (make_dir(f, why, whyn)) return -1;
    char tmp[sizeof f->path + 16];
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", f->path);
    int fd = mkstemp(tmp);                      /* 0600 */
    if (fd < 0) { say(why, whyn, "cannot create", tmp); return -1; }
    char buf[ZL_STORED_TOKEN_MAX + ZL_STORED_DOMAIN_MAX + 64];
    int n = snprintf(buf, sizeof buf, "zlock-token 1\n%.3f\n%s\n%s\n", t->expires_at, t->api_domain, t->token);
    bool ok = n > 0 && (size_t)n < sizeof buf && write(fd, buf, (size_t)n) == n;
    if (!ok) say(why, whyn, "cannot write", tmp);
    if (close(fd) && ok) { ok = false; say(why, whyn, "cannot write", tmp); }
    if (ok && rename(tmp, f->path)) { ok = false; say(why, whyn, "cannot rename to", f->path); }
    if (!ok) unlink(tmp);
    return ok ? 0 : -1;
}

static int f_lock(zl_token_store *s, long ttl_ms, long wait_ms, char *why, size_t whyn) {
    (void)ttl_ms;
    file_store *f = (file_store *)s;
    if (f->lock_fd < 0) {
        if (make_dir(f, why, whyn)) return -1;
        f->lock_fd = open(f->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (f->lock_fd < 0) { say(why, whyn, "cannot open", f->lock_path); return -1; }
    }
    for (long waited = 0;; waited += 2) {
        if (flock(f->lock_fd, LOCK_EX | LOCK_NB) == 0) return 1;
        if (errno != EWOULDBLOCK && errno != EINTR) { say(why, whyn, "cannot lock", f->lock_path); return -1; }
        if (waited >= wait_ms) return 0;
        nanosleep(&(struct timespec){ 0, 2000000L }, NULL);
    }
}

static void f_unlock(zl_token_store *s) {
    file_store *f = (file_store *)s;
    if (f->lock_fd >= 0) flock(f->lock_fd, LOCK_UN);
}

static void f_free(zl_token_store *s) {
    file_store *f = (file_store *)s;
    if (f->lock_fd >= 0) close(f->lock_fd);
    free(f);
}

zl_token_store *zl_token_file_store(const zl_client *c, const char *dir, char *why, size_t whyn) {
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    file_store *f = calloc(1, sizeof *f);
    if (!f) { snprintf(why, whyn, "out of memory"); return NULL; }
    int n;
    if (dir && *dir) n = snprintf(f->dir, sizeof f->dir, "%s", dir);
    else if (xdg && xdg[0] == '/') n = snprintf(f->dir, sizeof f->dir, "%s/zlock", xdg);
    else if (home && home[0] == '/') n = snprintf(f->dir, sizeof f->dir, "%s/.cache/zlock", home);
    else { free(f); snprintf(why, whyn, "neither XDG_CACHE_HOME nor HOME is set"); return NULL; }
    if (n <= 0 || (size_t)n >= sizeof f->dir) { free(f); snprintf(why, whyn, "cache directory name too long"); return NULL; }
    char key[65];
    zl_token_store_key(c, key);
    snprintf(f->path, sizeof f->path, "%s/%s.token", f->dir, key);
    snprintf(f->lock_path, sizeof f->lock_path, "%s/%s.lock", f->dir, key);
    f->lock_fd = -1;
    f->base = (zl_token_store){ "file", f_load, f_save, f_lock, f_unlock, f_free };
    return &f->base;
}
