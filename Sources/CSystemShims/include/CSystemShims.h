// Thin, allocation-free wrappers over Linux syscalls that Swift cannot call comfortably:
// `struct epoll_event` is packed on x86_64, and fcntl/ioctl are variadic. Every wrapper
// returns the raw result and leaves errno as the kernel set it; retry policy lives in Swift.
#ifndef C_SYSTEM_SHIMS_H
#define C_SYSTEM_SHIMS_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <signal.h>

/// One readiness event, unpacked: the fd registered and the epoll event bits.
typedef struct {
    int32_t fd;
    uint32_t events;
} hub_event;

enum {
    HUB_EPOLLIN = 0x001,
    HUB_EPOLLOUT = 0x004,
    HUB_EPOLLERR = 0x008,
    HUB_EPOLLHUP = 0x010,
    HUB_EPOLLRDHUP = 0x2000,
    HUB_EPOLLET = (int)(1u << 31),
};

int hub_epoll_create(void);
/// op: 1 add, 2 delete, 3 modify (EPOLL_CTL_*).
int hub_epoll_ctl(int epfd, int op, int fd, uint32_t events);
int hub_epoll_wait(int epfd, hub_event *events, int max, int timeout_ms);

int hub_eventfd(void);
int hub_eventfd_signal(int fd);
int hub_eventfd_drain(int fd);

/// A listening TCP socket bound to host:port (IPv4 or IPv6 literal), SO_REUSEADDR and,
/// when reuse_port, SO_REUSEPORT so every event loop can own a listener on the same port.
/// Returns the fd or -errno.
int hub_listen_tcp(const char *host, int port, int backlog, int reuse_port);
/// The bound port of a socket, or -1.
int hub_local_port(int fd);
/// accept4 non-blocking + close-on-exec; writes the peer address text (at most `cap` bytes).
int hub_accept(int listen_fd, char *peer, int cap);
int hub_set_nodelay(int fd);
int hub_set_nonblocking(int fd);
ssize_t hub_read(int fd, void *buf, size_t len);
ssize_t hub_writev(int fd, const struct iovec *iov, int count);
ssize_t hub_send(int fd, const void *buf, size_t len);
int hub_close(int fd);
int hub_shutdown_write(int fd);

/// Block SIGTERM, SIGINT and SIGHUP in the calling thread (and threads it creates later) and
/// ignore SIGPIPE, so one thread can `sigwait` for them.
int hub_block_shutdown_signals(void);
/// Wait for one of the blocked signals; returns its number.
int hub_wait_shutdown_signal(void);

/// CLOCK_MONOTONIC in nanoseconds.
uint64_t hub_monotonic_ns(void);
/// Current wall-clock seconds since the epoch.
int64_t hub_wall_seconds(void);
int64_t hub_wall_milliseconds(void);
/// RFC 9110 IMF-fixdate for `seconds`, written into out (at least 30 bytes); returns length.
int hub_http_date(int64_t seconds, char *out);
/// Raise RLIMIT_NOFILE's soft limit to the hard limit; returns the new soft limit.
long hub_raise_fd_limit(void);
/// Resident set size of this process in KiB (from /proc/self/statm), or -1.
long hub_rss_kib(void);
int hub_errno(void);
/// Non-blocking connect to an IPv4 literal; returns the fd (connection may be in progress) or -errno.
int hub_connect_tcp(const char *host, int port);
/* Resolves a host name to its first IPv4 address as text (blocking getaddrinfo); 0 or an EAI code. */
int hub_resolve_ipv4(const char *host, char *out, int outlen);
/* The pending error of a socket (SO_ERROR): 0 once a non-blocking connect succeeded. */
int hub_socket_error(int fd);
int hub_core_count(void);
void hub_flush_stdout(void);

#endif
