/* curl_lazy.c - dlopen of libcurl at the first transfer (see curl_lazy.h). */
#define ZLOCK_CURL_LAZY_IMPL
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "curl_lazy.h"
#include "transport_curl.h"

zl_curl_api zl_curl_fns;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int load_rc = -1;             /* written once, under pthread_once */
static char load_err[256] = "libcurl not loaded";

#define SYM(field, name) \
    do { *(void **)(&zl_curl_fns.field) = dlsym(h, name); \
         if (!zl_curl_fns.field) { snprintf(load_err, sizeof load_err, "libcurl lacks %s", name); return; } } while (0)

static void load(void) {
    void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(load_err, sizeof load_err, "cannot load libcurl.so.4: %s", e ? e : "?");
        return;
    }
    SYM(easy_setopt, "curl_easy_setopt");
    SYM(easy_getinfo, "curl_easy_getinfo");
    SYM(easy_perform, "curl_easy_perform");
    SYM(easy_cleanup, "curl_easy_cleanup");
    SYM(easy_init, "curl_easy_init");
    SYM(slist_append, "curl_slist_append");
    SYM(slist_free_all, "curl_slist_free_all");
    SYM(version_info, "curl_version_info");
    SYM(global_init, "curl_global_init");
    SYM(multi_init, "curl_multi_init");
    SYM(multi_cleanup, "curl_multi_cleanup");
    SYM(multi_add_handle, "curl_multi_add_handle");
    SYM(multi_remove_handle, "curl_multi_remove_handle");
    SYM(multi_perform, "curl_multi_perform");
    SYM(multi_poll, "curl_multi_poll");
    SYM(multi_info_read, "curl_multi_info_read");
    SYM(multi_setopt, "curl_multi_setopt");
    SYM(multi_socket_action, "curl_multi_socket_action");
    SYM(url, "curl_url");
    SYM(url_cleanup, "curl_url_cleanup");
    SYM(url_set, "curl_url_set");
    *(void **)(&zl_curl_fns.easy_header) = dlsym(h, "curl_easy_header");   /* optional */
    if (zl_curl_fns.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(load_err, sizeof load_err, "curl_global_init failed");
        return;
    }
    load_rc = 0;   /* the handle stays open for the life of the process */
}

int zl_curl_load(void) {
    pthread_once(&once, load);
    return load_rc;
}

const char *zl_curl_load_error(void) { return load_rc == 0 ? NULL : load_err; }
int zl_curl_global_init(void) { return zl_curl_load(); }

CURL *zl_lazy_easy_init(void) { return zl_curl_load() ? NULL : zl_curl_fns.easy_init(); }
CURLM *zl_lazy_multi_init(void) { return zl_curl_load() ? NULL : zl_curl_fns.multi_init(); }
struct curl_slist *zl_lazy_slist_append(struct curl_slist *l, const char *s) {
    return zl_curl_load() ? NULL : zl_curl_fns.slist_append(l, s);
}
void zl_lazy_slist_free_all(struct curl_slist *l) { if (l && zl_curl_load() == 0) zl_curl_fns.slist_free_all(l); }
curl_version_info_data *zl_lazy_version_info(CURLversion v) {
    return zl_curl_load() ? NULL : zl_curl_fns.version_info(v);
}
