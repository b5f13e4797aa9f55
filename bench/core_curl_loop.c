/* core_curl_loop: the peer zlock's client CPU is measured against (the README's "client CPU per
 * get/lock call within 1.5x of a plain C libcurl loop doing the same requests").
 * One reused easy handle, the same headers zlock sends, the body collected in memory.
 *
 *   core_curl_loop BASE_URL TOKEN get  MODULE RECORD_ID COUNT   # GET list of the record's locks
 *   core_curl_loop BASE_URL TOKEN lock MODULE RECORD_ID COUNT   # POST lock + DELETE unlock
 *
 * Prints "cpu_s=<user+sys seconds of the loop> calls=<requests> per_call_us=<...>".
 * Build: cc -O2 -o build/bench/core_curl_loop bench/core_curl_loop.c $(pkg-config --cflags --libs libcurl)
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

struct buf { char *p; size_t n, cap; };

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct buf *b = ud;
    size_t len = size * nmemb;
    if (b->n + len + 1 > b->cap) {
        size_t cap = (b->n + len + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p) return 0;
        b->p = p; b->cap = cap;
    }
    memcpy(b->p + b->n, data, len);
    b->n += len;
    b->p[b->n] = '\0';
    return len;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
         + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* One request on the shared handle; returns the HTTP status or -1. */
static long call(CURL *h, const char *method, const char *url, const char *body, struct buf *b)
{
    b->n = 0;
    if (b->p) b->p[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);            /* POST */
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);                 /* GET, or DELETE below */
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, strcmp(method, "GET") == 0 ? NULL : method);
    }
    if (curl_easy_perform(h) != CURLE_OK) return -1;
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s BASE_URL TOKEN get|lock MODULE RECORD_ID COUNT\n", argv[0]);
        return 2;
    }
    const char *base = argv[1], *token = argv[2], *mode = argv[3], *module = argv[4], *rid = argv[5];
    long count = strtol(argv[6], NULL, 10);
    int lock_mode = strcmp(mode, "lock") == 0;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = NULL;
    char auth[512], coll[1024], url[1200];
    snprintf(auth, sizeof auth, "Authorization: Zoho-oauthtoken %s", token);
    hdr = curl_slist_append(hdr, auth);
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    hdr = curl_slist_append(hdr, "Accept: application/json");
    hdr = curl_slist_append(hdr, "Expect:");
    struct buf b = { 0 };
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    snprintf(coll, sizeof coll, "%s/crm/v8/%s/%s/Locking_Information__s", base, module, rid);
    snprintf(url, sizeof url, "%s?fields=Locked_For__s,Locked_Reason__s,Lock_Source__s,Locked_Time__s,"
             "Locked_By__s,Record_Locking_Rule_Id__s,Record_Locking_Configuration_Id__s", coll);
    const char *reason = "{\"data\":[{\"Locked_Reason__s\":\"bench\"}]}";

    /* warm-up: the connection is opened outside the measured loop, as for zlock */
    if (call(h, "GET", url, NULL, &b) < 0) { fprintf(stderr, "warm-up failed\n"); return 1; }

    long calls = 0, bad = 0;
    double t0 = cpu_seconds();
    for (long i = 0; i < count; i++) {
        if (!lock_mode) {
            long st = call(h, "GET", url, NULL, &b);
            calls++;
            if (st != 200 && st != 204) bad++;
        } else {
            long st = call(h, "POST", coll, reason, &b);
            calls++;
            const char *idp = b.p ? strstr(b.p, "\"id\":\"") : NULL;
            if (st != 201 || !idp) { bad++; continue; }
            char lock_url[1300], id[32];
            size_t n = strcspn(idp + 6, "\"");
            if (n >= sizeof id) { bad++; continue; }
            memcpy(id, idp + 6, n); id[n] = '\0';
            snprintf(lock_url, sizeof lock_url, "%s/%s", coll, id);
            st = call(h, "DELETE", lock_url, NULL, &b);
            calls++;
            if (st != 200) bad++;
        }
    }
    double cpu = cpu_seconds() - t0;
    printf("cpu_s=%.4f calls=%ld bad=%ld per_call_us=%.2f\n", cpu, calls, bad,
           calls ? cpu * 1e6 / calls : 0.0);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    curl_global_cleanup();
    free(b.p);
    return bad ? 1 : 0;
}
