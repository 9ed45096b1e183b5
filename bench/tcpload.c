/* tcpload: a TCP echo origin and a load client for bench/bench_edge_proxy.py, on loopback only.
 *
 * Python is too slow for this: at tens of thousands of connections a second its own cost would hide
 * HAProxy's. Built by bench/_tcpload.py with `cc -O2`; one single-threaded epoll loop per process.
 *
 *   tcpload echo    listen on two free ports of 127.0.0.1, print them ("CLOSING ECHO"), serve until killed:
 *                   on ECHO, echo everything; on CLOSING, echo the first 64 bytes, then close
 *   tcpload conn   PORT START SECONDS CONCURRENCY [HEADER_HEX]
 *       keep CONCURRENCY connections in flight to a CLOSING port: connect, send HEADER (a PROXY v2
 *       header, hex) and 64 bytes in one write, read the 64 bytes echoed and the origin's close, close;
 *       count them from START to START+SECONDS
 *   tcpload stream PORT START SECONDS CONNECTIONS [HEADER_HEX]
 *       CONNECTIONS long connections: send HEADER once, then 64 KiB chunks (at most WINDOW unanswered),
 *       reading the echo; count the bytes echoed back from START to START+SECONDS
 *
 * START is a CLOCK_REALTIME second (fractional), so several client processes measure the same window.
 * Why the origin closes first in conn mode: whoever closes first keeps the connection in TIME_WAIT, and
 * a connecting side (the client, or HAProxy towards the origin) whose closed connections sit in
 * TIME_WAIT runs out of ephemeral ports on one loopback address at about 14,000 connections a second
 * (tcp_tw_reuse frees a port only after a second), a limit of the test, not of what is measured.
 * A client prints one line of JSON: {"done", "errors", "bytes", "seconds", "cpu", "hist": [[microseconds, count]]}
 * where cpu is its own user+system CPU seconds in the window and hist holds each connection's
 * open-to-echo time in 10 us buckets (conn mode).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD 64
#define CHUNK 65536
#define WINDOW (4 * CHUNK)
#define BUCKET_US 10
#define BUCKETS 20000 /* up to 200 ms; slower ones land in the last bucket */
#define MAX_FD 65536

static double now_real(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what) {
    perror(what);
    exit(2);
}

/* ---- echo origin ------------------------------------------------------------------------------ */

struct echo_conn {
    char *buf;
    int pending, off; /* bytes not yet written back */
    int closing;      /* accepted on the CLOSING port */
    long long echoed;
};

static struct echo_conn *conns[MAX_FD];

static void echo_close(int ep, int fd) {
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    if (conns[fd]) {
        free(conns[fd]->buf);
        free(conns[fd]);
        conns[fd] = NULL;
    }
}

static void echo_mod(int ep, int fd, uint32_t events) {
    struct epoll_event ev = {.events = events, .data.fd = fd};
    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

/* Write back what is pending; returns 0 when the connection must close. */
static int echo_flush(int ep, int fd, struct echo_conn *c) {
    while (c->pending > 0) {
        ssize_t w = send(fd, c->buf + c->off, c->pending, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN) {
                echo_mod(ep, fd, EPOLLOUT);
                return 1;
            }
            return 0;
        }
        c->off += w;
        c->pending -= w;
        c->echoed += w;
    }
    return !(c->closing && c->echoed >= PAYLOAD);
}

static int listen_on(struct sockaddr_in *addr) {
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    socklen_t len = sizeof *addr;
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr->sin_port = 0;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(ls, (struct sockaddr *)addr, sizeof *addr) || listen(ls, 4096)) die("listen");
    getsockname(ls, (struct sockaddr *)addr, &len);
    return ls;
}

static _Noreturn void run_echo(void) {
    struct sockaddr_in a, b;
    int closing = listen_on(&a), plain = listen_on(&b), one = 1;
    printf("%d %d\n", ntohs(a.sin_port), ntohs(b.sin_port));
    fflush(stdout);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = closing}, events[256];
    epoll_ctl(ep, EPOLL_CTL_ADD, closing, &ev);
    ev.data.fd = plain;
    epoll_ctl(ep, EPOLL_CTL_ADD, plain, &ev);
    for (;;) {
        int n = epoll_wait(ep, events, 256, -1);
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == closing || fd == plain) {
                int c;
                while ((c = accept4(fd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if (c >= MAX_FD) {
                        close(c);
                        continue;
                    }
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    conns[c] = calloc(1, sizeof *conns[c]);
                    conns[c]->buf = malloc(CHUNK);
                    conns[c]->closing = fd == closing;
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
                continue;
            }
            struct echo_conn *c = conns[fd];
            if (c->pending > 0) { /* writable again */
                if (!echo_flush(ep, fd, c)) echo_close(ep, fd);
                else if (c->pending == 0) echo_mod(ep, fd, EPOLLIN);
                continue;
            }
            size_t room = c->closing ? (size_t)(PAYLOAD - c->echoed) : CHUNK;
            ssize_t r = recv(fd, c->buf, room, 0);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN) continue;
                echo_close(ep, fd);
                continue;
            }
            c->pending = (int)r;
            c->off = 0;
            if (!echo_flush(ep, fd, c)) echo_close(ep, fd);
        }
    }
}

/* ---- clients ---------------------------------------------------------------------------------- */

struct slot {
    int fd;
    int stage; /* 0 connecting, 1 reading (conn mode) or streaming */
    int got;
    double started;
    long long sent, recvd;
};

static unsigned char header[256];
static int header_len;
static unsigned char out[CHUNK], sink[CHUNK];
static long long hist[BUCKETS];
static long long done, errors, bytes;
static struct sockaddr_in target;

static double now_mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_now(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int open_slot(int ep, struct slot *s, int index) {
    int one = 1;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (s->fd < 0) die("socket");
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    s->stage = 0;
    s->got = 0;
    s->sent = s->recvd = 0;
    s->started = now_mono();
    if (connect(s->fd, (struct sockaddr *)&target, sizeof target) < 0 && errno != EINPROGRESS) {
        close(s->fd);
        s->fd = -1;
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)index};
    epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
    return 0;
}

static void close_slot(int ep, struct slot *s) {
    epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
    close(s->fd);
    s->fd = -1;
}

static int hex_value(char c) {
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static int run_client(int stream, int port, double start, double seconds, int count, const char *hex) {
    if (hex) {
        size_t n = strlen(hex) / 2;
        if (n > sizeof header) die("header");
        for (size_t i = 0; i < n; i++) header[i] = (unsigned char)(hex_value(hex[2 * i]) << 4 | hex_value(hex[2 * i + 1]));
        header_len = (int)n;
    }
    memset(out, 'x', sizeof out);
    target.sin_family = AF_INET;
    target.sin_port = htons((uint16_t)port);
    target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    double wait = start - now_real();
    if (wait > 0) {
        struct timespec ts = {(time_t)wait, (long)((wait - (time_t)wait) * 1e9)};
        nanosleep(&ts, NULL);
    }
    double t0 = now_mono(), end = t0 + seconds, cpu0 = cpu_now();
    int ep = epoll_create1(0);
    struct slot *slots = calloc((size_t)count, sizeof *slots);
    struct epoll_event events[512];
    for (int i = 0; i < count; i++)
        if (open_slot(ep, &slots[i], i) < 0) errors++;
    while (now_mono() < end) {
        int n = epoll_wait(ep, events, 512, 50);
        double t = now_mono();
        for (int k = 0; k < n; k++) {
            int i = (int)events[k].data.u32;
            struct slot *s = &slots[i];
            if (s->fd < 0) continue;
            if (s->stage == 0) { /* connected (or failed) */
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err) goto failed;
                unsigned char first[256 + PAYLOAD];
                memcpy(first, header, (size_t)header_len);
                memcpy(first + header_len, out, stream ? 0 : PAYLOAD);
                int want = header_len + (stream ? 0 : PAYLOAD);
                if (want && send(s->fd, first, (size_t)want, MSG_NOSIGNAL) != want) goto failed;
                s->stage = 1;
                struct epoll_event ev = {.events = stream ? EPOLLIN | EPOLLOUT : EPOLLIN, .data.u32 = (uint32_t)i};
                epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
                continue;
            }
            if (!stream) { /* the echo, then the origin's close */
                ssize_t r = recv(s->fd, sink, sizeof sink, 0);
                if (r < 0 && errno == EAGAIN) continue;
                if (r < 0 || (r == 0 && s->got < PAYLOAD)) goto failed;
                if (r > 0) {
                    s->got += (int)r;
                    if (s->got == PAYLOAD) {
                        long b = (long)((t - s->started) * 1e6 / BUCKET_US);
                        hist[b < BUCKETS ? b : BUCKETS - 1]++;
                    }
                    continue;
                }
                done++;
                close_slot(ep, s);
                if (open_slot(ep, s, i) < 0) errors++;
                continue;
            }
            if (events[k].events & EPOLLIN) {
                ssize_t r = recv(s->fd, sink, sizeof sink, 0);
                if (r == 0 || (r < 0 && errno != EAGAIN)) goto failed;
                if (r > 0) {
                    s->recvd += r;
                    bytes += r;
                }
            }
            if (s->sent - s->recvd < WINDOW) {
                ssize_t w = send(s->fd, out, CHUNK - (size_t)(s->sent % CHUNK), MSG_NOSIGNAL);
                if (w < 0 && errno != EAGAIN) goto failed;
                if (w > 0) s->sent += w;
            }
            struct epoll_event ev = {
                .events = EPOLLIN | (s->sent - s->recvd < WINDOW ? EPOLLOUT : 0), .data.u32 = (uint32_t)i};
            epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
            continue;
        failed:
            errors++;
            close_slot(ep, s);
            if (open_slot(ep, s, i) < 0) errors++;
        }
    }
    double elapsed = now_mono() - t0, cpu = cpu_now() - cpu0;
    printf("{\"done\": %lld, \"errors\": %lld, \"bytes\": %lld, \"seconds\": %.6f, \"cpu\": %.6f, \"hist\": [", done,
           errors, bytes, elapsed, cpu);
    int first = 1;
    for (int b = 0; b < BUCKETS; b++) {
        if (!hist[b]) continue;
        printf("%s[%d, %lld]", first ? "" : ", ", b * BUCKET_US, hist[b]);
        first = 0;
    }
    printf("]}\n");
    return 0;
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 2 && !strcmp(argv[1], "echo")) run_echo();
    if (argc >= 6 && (!strcmp(argv[1], "conn") || !strcmp(argv[1], "stream")))
        return run_client(!strcmp(argv[1], "stream"), atoi(argv[2]), atof(argv[3]), atof(argv[4]), atoi(argv[5]),
                          argc > 6 ? argv[6] : NULL);
    fprintf(stderr, "usage: tcpload echo | tcpload conn|stream PORT START SECONDS COUNT [HEADER_HEX]\n");
    return 2;
}
