/* redis_conn.c - see redis_conn.h. libssl is dlopen'ed at the first rediss:// connection, so
 * `require "zlock"` never maps it (the libcurl transport maps it only when it loads too). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "redis_conn.h"

/* ---- the few OpenSSL entry points we need (libssl.so.3, loaded once) */
typedef struct ssl_api {
    const void *(*client_method)(void);
    void *(*ctx_new)(const void *);
    void (*ctx_free)(void *);
    void (*ctx_set_verify)(void *, int, void *);
    int (*ctx_load_verify_locations)(void *, const char *, const char *);
    int (*ctx_set_default_verify_paths)(void *);
    void *(*ssl_new)(void *);
    void (*ssl_free)(void *);
    int (*set_fd)(void *, int);
    int (*set1_host)(void *, const char *);
    long (*ctrl)(void *, int, long, void *);
    int (*connect)(void *);
    int (*read)(void *, void *, int);
    int (*write)(void *, const void *, int);
    long (*get_verify_result)(const void *);
    const char *(*verify_string)(long);
} ssl_api;

static ssl_api SSL_API;
static int ssl_loaded = -1;
static pthread_once_t ssl_once = PTHREAD_ONCE_INIT;

static void ssl_load(void) {
    void *h = dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL);
    if (!h) h = dlopen("libssl.so", RTLD_NOW | RTLD_LOCAL);
    if (!h) { ssl_loaded = 0; return; }
#define SYM(field, name) *(void **)(&SSL_API.field) = dlsym(h, name)
    SYM(client_method, "TLS_client_method");
    SYM(ctx_new, "SSL_CTX_new");
    SYM(ctx_free, "SSL_CTX_free");
    SYM(ctx_set_verify, "SSL_CTX_set_verify");
    SYM(ctx_load_verify_locations, "SSL_CTX_load_verify_locations");
    SYM(ctx_set_default_verify_paths, "SSL_CTX_set_default_verify_paths");
    SYM(ssl_new, "SSL_new");
    SYM(ssl_free, "SSL_free");
    SYM(set_fd, "SSL_set_fd");
    SYM(set1_host, "SSL_set1_host");
    SYM(ctrl, "SSL_ctrl");
    SYM(connect, "SSL_connect");
    SYM(read, "SSL_read");
    SYM(write, "SSL_write");
    SYM(get_verify_result, "SSL_get_verify_result");
    SYM(verify_string, "X509_verify_cert_error_string");
#undef SYM
    if (!SSL_API.verify_string) {
        void *c = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
        if (c) *(void **)(&SSL_API.verify_string) = dlsym(c, "X509_verify_cert_error_string");
    }
    void **f = (void **)&SSL_API;
    ssl_loaded = 1;
    for (size_t i = 0; i < sizeof SSL_API / sizeof(void *); i++)
        if (!f[i]) ssl_loaded = 0;
}

#define SSL_VERIFY_PEER 1
#define SSL_CTRL_SET_TLSEXT_HOSTNAME 55
#define TLSEXT_NAMETYPE_host_name 0

struct zl_redis_conn {
    int fd;
    void *ctx, *ssl;
    redisReader *reader;
};

void zl_redis_close(zl_redis_conn *c) {
    if (!c) return;
    if (c->ssl) SSL_API.ssl_free(c->ssl);
    if (c->ctx) SSL_API.ctx_free(c->ctx);
    if (c->fd >= 0) close(c->fd);
    if (c->reader) redisReaderFree(c->reader);
    free(c);
}

static int tcp_connect(const char *host, int port, long connect_ms, char *why, size_t whyn) {
    char ps[8];
    snprintf(ps, sizeof ps, "%d", port);
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
    int rc = getaddrinfo(host, ps, &hints, &res);
    if (rc) { snprintf(why, whyn, "cannot resolve %s: %s", host, gai_strerror(rc)); return -1; }
    int fd = -1;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        int fl = fcntl(fd, F_GETFL);
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
        int err = 0;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) err = 0;
        else if (errno != EINPROGRESS) err = errno;
        else {
            struct pollfd p = { fd, POLLOUT, 0 };
            int n = poll(&p, 1, (int)connect_ms);
            socklen_t l = sizeof err;
            if (n == 0) err = ETIMEDOUT;
            else if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l)) err = errno;
        }
        if (!err) { fcntl(fd, F_SETFL, fl); break; }
        snprintf(why, whyn, "cannot connect to %s:%d: %s", host, port, strerror(err));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

zl_redis_conn *zl_redis_connect(const char *host, int port, bool tls, const char *ca_file,
                                long connect_ms, long io_ms, char *why, size_t whyn) {
    if (tls) {
        pthread_once(&ssl_once, ssl_load);
        if (ssl_loaded != 1) { snprintf(why, whyn, "rediss:// needs libssl.so.3, which could not be loaded"); return NULL; }
    }
    zl_redis_conn *c = calloc(1, sizeof *c);
    if (!c) { snprintf(why, whyn, "out of memory"); return NULL; }
    c->fd = tcp_connect(host, port, connect_ms, why, whyn);
    if (c->fd < 0 || !(c->reader = redisReaderCreate())) { zl_redis_close(c); return NULL; }
    struct timeval tv = { io_ms / 1000, (io_ms % 1000) * 1000 };
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (!tls) return c;
    ssl_api *s = &SSL_API;
    if (!(c->ctx = s->ctx_new(s->client_method()))) { snprintf(why, whyn, "TLS setup failed"); zl_redis_close(c); return NULL; }
    s->ctx_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    if (ca_file ? s->ctx_load_verify_locations(c->ctx, ca_file, NULL) != 1 : s->ctx_set_default_verify_paths(c->ctx) != 1) {
        snprintf(why, whyn, "cannot load the CA certificates%s", ca_file ? " of ca_file" : "");
        zl_redis_close(c);
        return NULL;
    }
    if (!(c->ssl = s->ssl_new(c->ctx)) || s->set_fd(c->ssl, c->fd) != 1 || s->set1_host(c->ssl, host) != 1 ||
        s->ctrl(c->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, (void *)host) != 1) {
        snprintf(why, whyn, "TLS setup failed");
        zl_redis_close(c);
        return NULL;
    }
    if (s->connect(c->ssl) != 1) {
        long v = s->get_verify_result(c->ssl);
        snprintf(why, whyn, "TLS handshake with %s:%d failed%s%s", host, port, v ? ": " : "", v ? s->verify_string(v) : "");
        zl_redis_close(c);
        return NULL;
    }
    return c;
}

static int conn_write(zl_redis_conn *c, const char *p, size_t n) {
    while (n) {
        long w = c->ssl ? SSL_API.write(c->ssl, p, (int)n) : (long)send(c->fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) {
            if (!c->ssl && w < 0 && errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

redisReply *zl_redis_command(zl_redis_conn *c, int argc, const char **argv, char *why, size_t whyn) {
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, NULL);
    if (len < 0) { snprintf(why, whyn, "out of memory"); return NULL; }
    int wr = conn_write(c, cmd, (size_t)len);
    free(cmd);
    if (wr) { snprintf(why, whyn, "%s", errno == EAGAIN || errno == EWOULDBLOCK ? "no reply in time" : "connection lost"); return NULL; }
    for (;;) {
        void *reply = NULL;
        if (redisReaderGetReply(c->reader, &reply) != REDIS_OK) { snprintf(why, whyn, "bad reply"); return NULL; }
        if (reply) return reply;
        char buf[4096];
        long n;
        do n = c->ssl ? SSL_API.read(c->ssl, buf, sizeof buf) : (long)recv(c->fd, buf, sizeof buf, 0);
        while (n < 0 && !c->ssl && errno == EINTR);
        if (n <= 0) {
            snprintf(why, whyn, "%s", n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? "no reply in time" : "connection closed");
            return NULL;
        }
        if (redisReaderFeed(c->reader, buf, (size_t)n) != REDIS_OK) { snprintf(why, whyn, "bad reply"); return NULL; }
    }
}
