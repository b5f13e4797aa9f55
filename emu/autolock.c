/* Asynchronous automatic locking (--auto-lock-delay MS): a record created or changed is held
 * against the module's automatic rules MS milliseconds after the request, by a thread of its
 * own, so "change, then check the lock" logic meets the delay Zoho's rule engine may have
 * (UNCONFIRMED: Zoho documents no timing). Without the option the rules run inside the request. */
#include "emu.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

typedef struct { emu_org *org; uint16_t module; uint64_t id; double due; } pending;

struct emu_autolock {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pending *q; size_t n, cap;
    bool stop;
    long delay_ms;
    emu_server *s;
};

static void run_due(struct emu_autolock *a, pending *due, size_t n)
{
    emu_server *s = a->s;
    pthread_rwlock_wrlock(&s->org_lock);
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < n; i++) {
        if (due[i].org != s->org) continue;   /* the org was reset meanwhile */
        emu_module *m = &s->org->modules[due[i].module];
        emu_record *r = emu_org_record(s->org, m, due[i].id);
        if (r) emu_config_apply(s->org, r, now);
    }
    pthread_rwlock_unlock(&s->org_lock);
}

static void *worker(void *arg)
{
    struct emu_autolock *a = arg;
    pthread_mutex_lock(&a->mu);
    while (!a->stop) {
        double now = emu_now();
        double next = 0;
        size_t k = 0, ndue = 0;
        pending *due = NULL;
        for (size_t i = 0; i < a->n; i++) {
            if (a->q[i].due <= now) {
                due = emu_xrealloc(due, (ndue + 1) * sizeof *due);
                due[ndue++] = a->q[i];
            } else {
                if (!next || a->q[i].due < next) next = a->q[i].due;
                a->q[k++] = a->q[i];
            }
        }
        a->n = k;
        if (ndue) {
            pthread_mutex_unlock(&a->mu);
            run_due(a, due, ndue);
            free(due);
            pthread_mutex_lock(&a->mu);
            continue;
        }
        if (!next) { pthread_cond_wait(&a->cv, &a->mu); continue; }
        /* the condition variable's clock is CLOCK_REALTIME: wait for the delay from now */
        double wait = next - now;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        long ns = ts.tv_nsec + (long)((wait - (long)wait) * 1e9);
        ts.tv_sec += (time_t)wait + ns / 1000000000L;
        ts.tv_nsec = ns % 1000000000L;
        int rc = pthread_cond_timedwait(&a->cv, &a->mu, &ts);
        (void)rc;
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

int emu_autolock_start(emu_server *s, long delay_ms)
{
    if (delay_ms <= 0) return 0;
    struct emu_autolock *a = emu_xcalloc(1, sizeof *a);
    a->s = s;
    a->delay_ms = delay_ms;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    if (pthread_create(&a->thread, NULL, worker, a) != 0) {
        pthread_cond_destroy(&a->cv);
        pthread_mutex_destroy(&a->mu);
        free(a);
        return -1;
    }
    s->autolock = a;
    return 0;
}

void emu_autolock_stop(emu_server *s)
{
    struct emu_autolock *a = s->autolock;
    if (!a) return;
    pthread_mutex_lock(&a->mu);
    a->stop = true;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->thread, NULL);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    free(a->q);
    free(a);
    s->autolock = NULL;
}

void emu_autolock_record(emu_server *s, emu_record *r, int64_t now)
{
    struct emu_autolock *a = s->autolock;
    if (!a) { emu_config_apply(s->org, r, now); return; }
    pthread_mutex_lock(&a->mu);
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->q = emu_xrealloc(a->q, a->cap * sizeof *a->q);
    }
    a->q[a->n++] = (pending){ s->org, r->module, r->id, emu_now() + a->delay_ms / 1000.0 };
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
}
