/* budget_client.c - a client's share of the fleet budget (budget.h): its settings, and the
 * holder its calls made one at a time (zl_call_run) take their slots from: class
 * "interactive", one per client, used under its own lock. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "budget_client.h"
#include "client_internal.h"
#include "sha256.h"

int zl_client_budget_open(zl_client *c, const zl_config *cfg, zl_error *err) {
    char key[65];
    if (cfg->org_id && *cfg->org_id) {
        const char *parts[] = { "org", cfg->org_id };
        zl_sha256_hex(parts, 2, key);
    } else {
        const char *parts[] = { c->accounts_domain ? c->accounts_domain : "", c->client_id ? c->client_id : "",
                                c->api_domain ? c->api_domain : "" };
        zl_sha256_hex(parts, c->client_id ? 2 : 3, key);
    }
    if (zl_budget_conf_new(cfg, key, &c->budget, err)) return -1;
    pthread_mutex_init(&c->fleet_mu, NULL);
    c->fleet_mu_init = true;
    return 0;
}

void zl_client_budget_close(zl_client *c) {
    zl_budget_free(c->fleet);
    zl_budget_conf_free(c->budget);
    if (c->fleet_mu_init) pthread_mutex_destroy(&c->fleet_mu);
}

const zl_budget_conf *zl_client_budget(const zl_client *c) { return c->budget; }

static void sleep_ms(long ms) {
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

zl_budget_ticket zl_client_slot_take(zl_client *c) {
    zl_budget_ticket t = { 0, 0 };
    if (!c->budget) return t;
    int64_t t0 = zl_client_mono(c), deadline = t0 + c->net.timeout_ms;
    bool waited = false;
    for (;;) {
        pthread_mutex_lock(&c->fleet_mu);
        if (!c->fleet) c->fleet = zl_budget_new(c->budget, !c->budget->calls_bulk, true, ZL_BUDGET_INTERACTIVE_CAP);
        int got = c->fleet ? zl_budget_take(c->fleet, 1, &t) : -1;
        pthread_mutex_unlock(&c->fleet_mu);
        int64_t now = zl_client_mono(c);
        if (got != 0 || now >= deadline) {
            /* no budget (Redis failed), or the fleet stayed full for a whole timeout: the
               request goes out, and the org's own limit answers */
            if (waited) {
                pthread_mutex_lock(&c->fleet_mu);
                c->slot_waits++;
                c->slot_wait_ms += (unsigned long)(now - t0);
                pthread_mutex_unlock(&c->fleet_mu);
            }
            return got == 1 ? t : (zl_budget_ticket){ 0, 0 };
        }
        waited = true;
        sleep_ms(2 + (long)(now & 3));   /* a slot frees within a round trip */
    }
}

void zl_client_slot_give(zl_client *c, zl_budget_ticket t, int status) {
    if (!c->budget || t.seq == 0) return;
    pthread_mutex_lock(&c->fleet_mu);
    if (c->fleet) {
        zl_budget_give(c->fleet, t, status);
        zl_budget_take(c->fleet, 0, NULL);
    }
    pthread_mutex_unlock(&c->fleet_mu);
}

void zl_client_slot_stats(zl_client *c, unsigned long *waits, unsigned long *wait_ms, zl_budget_info *info) {
    memset(info, 0, sizeof *info);
    *waits = *wait_ms = 0;
    if (!c->budget) return;
    pthread_mutex_lock(&c->fleet_mu);
    *waits = c->slot_waits;
    *wait_ms = c->slot_wait_ms;
    if (c->fleet) zl_budget_info_get(c->fleet, info);
    else {
        info->usable = true;
        info->given = c->budget->limit > 0;
        info->limit = c->budget->limit;
    }
    pthread_mutex_unlock(&c->fleet_mu);
}
