/* core_store_token_test.c - zl_client_store_token on the file store in a temporary directory:
 * a token saved under the client's key is what a second client with the same key loads (its
 * expiry, and its API domain by the domain rule); a fixed API domain keeps the entry's empty;
 * token_store "none" writes nothing; bad input is refused before anything is installed or
 * written, with no secret in the error; a store that fails is a TRANSPORT error. No network. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "tap.h"
#include "internal.h"

static const char *TOKEN = "1000.stored-ACCESS-token";
static char dir[64];

static zl_client *client(const char *api_domain, const char *store, const char *cache) {
    zl_config cfg;
    zl_config_init(&cfg);
    cfg.accounts_domain = "http://127.0.0.1:1";
    cfg.api_domain = api_domain;
    cfg.client_id = "1000.CLIENT";
    cfg.client_secret = "client-SECRET";
    cfg.refresh_token = "1000.refresh-SECRET";
    cfg.token_store = store;
    cfg.token_cache_dir = cache ? cache : dir;
    zl_error e = {0};
    zl_client *c = zl_client_new(&cfg, &e);
    if (!c) printf("# client: %s\n", e.message);
    zl_error_clear(&e);
    return c;
}

/* The text of the directory's one entry, <key>.token ("" when none). Every client here has the
 * same accounts domain, client id and refresh token: the same key. */
static const char *entry(void) {
    static char text[2048];
    char path[512] = "";
    text[0] = '\0';
    DIR *d = opendir(dir);
    for (struct dirent *de; d && (de = readdir(d));) {
        size_t n = strlen(de->d_name);
        if (n == 64 + 6 && strcmp(de->d_name + 64, ".token") == 0) snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    }
    if (d) closedir(d);
    FILE *f = path[0] ? fopen(path, "r") : NULL;
    if (f) { text[fread(text, 1, sizeof text - 1, f)] = '\0'; fclose(f); }
    return text;
}

static bool clean(const zl_error *e) {
    return !strstr(e->message, "SECRET") && !strstr(e->message, "ACCESS") && !strstr(e->message, "1000.");
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/zlock-store-token-XXXXXX");
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    zl_error e = {0};
    char buf[256];

    zl_client *c = client(NULL, NULL, NULL);
    OK(c && zl_client_store_token(c, TOKEN, 2000000000.0, "http://127.0.0.1:8080/", &e) == 1,
       "saved in the file store (%s)", e.message);
    OK(STREQ(entry(), "zlock-token 1\n2000000000.000\nhttp://127.0.0.1:8080\n1000.stored-ACCESS-token\n"),
       "the entry: expiry, the normalised domain, the token; no secret");
    zl_client_get_token(c, buf, sizeof buf, NULL);
    OK(STREQ(buf, TOKEN) && STREQ(zl_client_api_domain(c, buf, sizeof buf), "http://127.0.0.1:8080"),
       "installed in the client, its domain learned");
    zl_client *other = client(NULL, NULL, NULL);
    OK(zl_client_stored_token_expiry(other) == 2000000000.0 &&
       STREQ(zl_client_api_domain(other, buf, sizeof buf), "http://127.0.0.1:8080"),
       "a second client with the same key loads it and adopts its domain");
    zl_client_free(other);

    OK(zl_client_store_token(c, "1000.a\r\nX-Injected: 1", 0, NULL, &e) == -1 &&
       STREQ(e.code, "INVALID_ARGUMENT") && clean(&e), "CR LF refused: %s", e.message);
    zl_error_clear(&e);
    OK(zl_client_store_token(c, "1000.fine", -1, NULL, &e) == -1 && STREQ(e.code, "INVALID_ARGUMENT"),
       "a negative expiry refused");
    zl_error_clear(&e);
    OK(zl_client_store_token(c, "1000.fine", 0, "http://example.com", &e) == -1 &&
       STREQ(e.code, "INVALID_ARGUMENT") && clean(&e), "plain http to a remote domain refused: %s", e.message);
    zl_error_clear(&e);
    zl_client_get_token(c, buf, sizeof buf, NULL);
    OK(STREQ(buf, TOKEN) && strstr(entry(), TOKEN), "refused input replaced neither the client's token nor the entry");
    zl_client_free(c);

    c = client("http://127.0.0.1:9", NULL, NULL);
    OK(c && zl_client_store_token(c, TOKEN, 0, "http://127.0.0.1:8080", &e) == 1 &&
       STREQ(entry(), "zlock-token 1\n0.000\n\n1000.stored-ACCESS-token\n") &&
       STREQ(zl_client_api_domain(c, buf, sizeof buf), "http://127.0.0.1:9"),
       "a fixed api_domain wins: the entry names no domain");
    zl_client_free(c);

    char none_dir[128];
    snprintf(none_dir, sizeof none_dir, "%s/none", dir);
    c = client(NULL, "none", none_dir);
    OK(c && zl_client_store_token(c, TOKEN, 0, NULL, &e) == 0 && access(none_dir, F_OK) != 0,
       "token_store none: 0, nothing written");
    zl_client_get_token(c, buf, sizeof buf, NULL);
    OK(STREQ(buf, TOKEN), "token_store none: the token is installed");
    zl_client_free(c);

    char file[128], under[160];
    snprintf(file, sizeof file, "%s/a-file", dir);
    fclose(fopen(file, "w"));
    snprintf(under, sizeof under, "%s/zlock", file);
    c = client(NULL, NULL, under);
    OK(c && zl_client_store_token(c, TOKEN, 0, NULL, &e) == -1 && STREQ(e.code, "TRANSPORT") &&
       strstr(e.message, "file token store: lock: cannot create") && clean(&e),
       "a store that fails: TRANSPORT naming the store and why (%s)", e.message);
    zl_error_clear(&e);
    zl_client_free(c);

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("# could not remove %s\n", dir);
    return tap_done();
}
