/* curl_lazy.h - libcurl, loaded when first needed (dlopen of libcurl.so.4 at the first
 * transfer slot, not at `require "zlock"`: libcurl and its ~30 libraries cost several
 * milliseconds to map). Included by transport_curl.h right after <curl/curl.h>; every
 * curl_* call in the core goes through the table below, filled exactly once under
 * pthread_once by zl_curl_global_init() (which also runs curl_global_init). The entry
 * points that may come first (easy/multi init, slist, version) load it themselves. */
#ifndef ZLOCK_CURL_LAZY_H
#define ZLOCK_CURL_LAZY_H

#include <curl/curl.h>

typedef struct zl_curl_api {
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    CURLcode (*easy_perform)(CURL *);
    void (*easy_cleanup)(CURL *);
    CURL *(*easy_init)(void);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    curl_version_info_data *(*version_info)(CURLversion);
    CURLcode (*global_init)(long);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_cleanup)(CURLM *);
    CURLMcode (*multi_add_handle)(CURLM *, CURL *);
    CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
    CURLMcode (*multi_perform)(CURLM *, int *);
    CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd[], unsigned int, int, int *);
    CURLMsg *(*multi_info_read)(CURLM *, int *);
    CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
    CURLMcode (*multi_socket_action)(CURLM *, curl_socket_t, int, int *);
    CURLU *(*url)(void);
    void (*url_cleanup)(CURLU *);
    CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned int);
    /* optional (libcurl >= 7.84): NULL when the library lacks it */
    CURLHcode (*easy_header)(CURL *, const char *, size_t, unsigned int, int, struct curl_header **);
} zl_curl_api;

/* Written once under pthread_once (zl_curl_global_init), read-only afterwards. */
extern zl_curl_api zl_curl_fns;

/* Loads libcurl (once) and returns 0, or -1 with a reason in zl_curl_load_error(). */
int zl_curl_load(void);
const char *zl_curl_load_error(void);
CURL *zl_lazy_easy_init(void);
CURLM *zl_lazy_multi_init(void);
struct curl_slist *zl_lazy_slist_append(struct curl_slist *l, const char *s);
void zl_lazy_slist_free_all(struct curl_slist *l);
curl_version_info_data *zl_lazy_version_info(CURLversion v);

#ifndef ZLOCK_CURL_LAZY_IMPL
/* typecheck-gcc.h defines some of these as macros: replace them all */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#define curl_easy_setopt        (*zl_curl_fns.easy_setopt)
#define curl_easy_getinfo       (*zl_curl_fns.easy_getinfo)
#define curl_easy_perform       (*zl_curl_fns.easy_perform)
#define curl_easy_cleanup       (*zl_curl_fns.easy_cleanup)
#define curl_easy_init          zl_lazy_easy_init
#define curl_slist_append       zl_lazy_slist_append
#define curl_slist_free_all     zl_lazy_slist_free_all
#define curl_version_info       zl_lazy_version_info
#define curl_multi_init         zl_lazy_multi_init
#define curl_multi_cleanup      (*zl_curl_fns.multi_cleanup)
#define curl_multi_add_handle   (*zl_curl_fns.multi_add_handle)
#define curl_multi_remove_handle (*zl_curl_fns.multi_remove_handle)
#define curl_multi_perform      (*zl_curl_fns.multi_perform)
#define curl_multi_poll         (*zl_curl_fns.multi_poll)
#define curl_multi_info_read    (*zl_curl_fns.multi_info_read)
#define curl_multi_setopt       (*zl_curl_fns.multi_setopt)
#define curl_multi_socket_action (*zl_curl_fns.multi_socket_action)
#define curl_url                (*zl_curl_fns.url)
#define curl_url_cleanup        (*zl_curl_fns.url_cleanup)
#define curl_url_set            (*zl_curl_fns.url_set)
#define curl_global_init        do_not_call_curl_global_init_use_zl_curl_global_init
#endif

#endif
