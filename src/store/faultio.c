/*
 * faultio.c -- the fault-injecting I/O seam for tests (tests/crash/): fails chosen calls and
 * simulates power loss, like SQLite's test_vfs.c and crash test (test6.c).
 *
 * Compiled to nothing unless COBALT_FAULT_INJECTION is defined (every file in src/store/ is
 * built into every binary).  `cobalt serve` built with -DCOBALT_FAULT_INJECTION=ON installs it
 * when the environment variable COBALT_IO_FAULTS is set.  It wraps io_posix; every call is
 * counted per operation, from 1, from process start (start-up I/O included).
 *
 * Spec: comma-separated key=value items.
 *
 *   fail=OP:N     the Nth call of OP fails (a new rule; up to 8 rules).  OP is one of open, close,
 *                 pwrite, pread, fdatasync, fsync, size, mkdir, unlink, or sync (the Nth call of
 *                 fdatasync or fsync together).  The next two items refine the last rule:
 *   err=E         EIO (default), ENOSPC, EDQUOT, EFBIG, or short: pwrite writes only half of the
 *                 bytes (a 1-byte write fails with ENOSPC), pread returns half (reads only)
 *   mode=M        once (default): only the Nth call; always: the Nth and every later call
 *   crash=OP:N    simulated power loss when the Nth call of OP (usually sync) begins, before it
 *                 has any effect: the pending writes (below) meet their fate under `loss`, files
 *                 created since their directory was last fsync'd may vanish, and the process
 *                 leaves at once with _exit(FAULTIO_CRASH_STATUS = 86), running no atexit
 *                 handler and flushing nothing.  Setting crash turns the write cache on.
 *   loss=L        what happens to each pending write at the crash (deterministic from the seed):
 *                   drop     nothing of it reaches the disk (default)
 *                   keep     all of it does (the crash comes just after the data, before the sync
 *                            returned: tests "synced but never committed")
 *                   part     each write whole, not at all, or a random prefix of it
 *                   torn512  each 512-byte sector (aligned to the file offset) kept or lost
 *                   torn4k   the same with 4 KiB pages
 *                   garbage  each 512-byte sector kept, lost, or overwritten with random bytes
 *                   zeros    each 512-byte sector kept, lost, or overwritten with zeros
 *                   mix      each write gets one of the modes above, at random
 *   seed=S        seeds the random choices (default 1)
 *   cache=on|off  force the write cache on or off (default: on exactly when crash is set)
 *   trace=PATH    append one line per call except pread/size ("op count fd path") to PATH
 *
 * Examples:  crash=sync:17,loss=torn4k,seed=5      fail=pwrite:3,err=ENOSPC,mode=always
 *            fail=fdatasync:2,err=EIO,fail=open:9,err=ENOSPC
 *
 * The write cache (SQLite's model of a disk with a volatile cache): pwrites to volume files
 * (paths ending in ".vol") are held in memory, in order, and reads and size() see them; an
 * fdatasync or fsync of that fd writes them to the file for real before the real sync runs, and
 * only then are they safe.  At the crash point every write still held is dropped, kept, torn or
 * scrambled as `loss` says.  A close() writes that fd's pending writes out (unsynced writes of a
 * closed file are not modelled: the store closes volumes only at shutdown and after retiring them).
 * Files opened with O_CREAT that did not exist are remembered until an fsync of their directory
 * completes; at a crash (any loss but keep) each one not yet covered is deleted with probability
 * 1/2, modelling a lost directory entry (store.h V5).
 *
 * What is outside the model, and why that is the right model: RocksDB does its own I/O, not
 * through this seam, and (with --fsync=always) syncs its WAL on every commit.  Its writes reach
 * the page cache, which survives _exit, so every metadata commit that returned before the crash
 * is durable -- exactly what a synced WAL promises after a real power loss.  The crash always
 * happens inside a volume sync, so it comes before the metadata commit of the request whose sync
 * it interrupts (V2: data synced, then metadata committed, then the 2xx).  A commit running on
 * another thread at that instant may or may not persist; its own data sync had already completed,
 * so both outcomes are legal states.  The store never renames files (volumes are append-only and
 * retired by unlink), so rename is not part of the seam.
 *
 * Thread safety: one mutex guards the counters, the rules and the cache.  Real reads and writes
 * of files with nothing cached run outside it.
 */
#ifdef COBALT_FAULT_INJECTION

#include "store/faultio.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FAULTIO_CRASH_STATUS 86
#define MAX_RULES            8

enum {
    OP_OPEN,
    OP_CLOSE,
    OP_PWRITE,
    OP_PREAD,
    OP_FDATASYNC,
    OP_FSYNC,
    OP_SIZE,
    OP_MKDIR,
    OP_UNLINK,
    OP_SYNC /* fdatasync or fsync: a counter of its own */,
    NOPS
};

static const char *const op_names[NOPS] = {"open",  "close", "pwrite", "pread",  "fdatasync",
                                           "fsync", "size",  "mkdir",  "unlink", "sync"};

enum loss { L_DROP, L_KEEP, L_PART, L_TORN512, L_TORN4K, L_GARBAGE, L_ZEROS, L_MIX };

static const char *const loss_names[] = {"drop",   "keep",    "part",  "torn512",
                                         "torn4k", "garbage", "zeros", "mix"};

#define ERR_SHORT (-1)

struct rule {
    int op;
    unsigned long n;
    int err; /* errno, or ERR_SHORT */
    int always;
};

struct pending {
    int fd;
    off_t off;
    size_t n;
    unsigned char *data;
    struct pending *next;
};

struct fdinfo {
    char *path; /* NULL: not opened through the seam */
    int vol;    /* a volume file: writes are cached */
};

static struct {
    pthread_mutex_t mu;
    unsigned long count[NOPS];
    struct rule rules[MAX_RULES];
    int nrules;
    int crash_op; /* -1: no crash point */
    unsigned long crash_n;
    enum loss loss;
    uint64_t rng;
    int cache;
    struct pending *head;
    struct fdinfo *fds;
    int nfds;
    char **created; /* files whose directory entry is not yet synced */
    size_t ncreated;
    int trace_fd;
} F = {.mu = PTHREAD_MUTEX_INITIALIZER, .crash_op = -1, .rng = 1, .trace_fd = -1};

/* splitmix64: deterministic from the seed. */
static uint64_t
rnd(void)
{
    uint64_t z = (F.rng += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Writes a message to stderr without stdio (safe right before _exit). */
static void
say(const char *msg)
{
    size_t n = strlen(msg);

    while (n > 0) {
        ssize_t w = write(2, msg, n);
        if (w <= 0)
            return;
        msg += w;
        n -= (size_t)w;
    }
}

static struct fdinfo *
fdinfo(int fd)
{
    return fd >= 0 && fd < F.nfds && F.fds[fd].path != NULL ? &F.fds[fd] : NULL;
}

static void
trace(int op, int fd, const char *path)
{
    char line[4200];
    int n;

    if (F.trace_fd < 0 || op == OP_PREAD || op == OP_SIZE)
        return;
    if (path == NULL && fdinfo(fd) != NULL)
        path = fdinfo(fd)->path;
    n = snprintf(line, sizeof(line), "%s %lu %d %s\n", op_names[op], F.count[op], fd,
                 path ? path : "-");
    if (n > 0 && (size_t)n < sizeof(line) && write(F.trace_fd, line, (size_t)n) < 0)
        F.trace_fd = -1;
}

/* Real pwrite of all n bytes (the file's own data, not subject to faults). */
static int
real_pwrite(int fd, const unsigned char *p, size_t n, off_t off)
{
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w == 0 ? ENOSPC : errno;
        p += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

/* One pending write meets its fate at the crash.  Mutex held. */
static void
lose(const struct pending *w, enum loss mode)
{
    size_t sector = mode == L_TORN4K ? 4096 : 512;
    unsigned char junk[4096];

    if (mode == L_MIX)
        mode = (enum loss)(rnd() % L_MIX);
    switch (mode) {
    case L_DROP:
    case L_MIX:
        return;
    case L_KEEP:
        real_pwrite(w->fd, w->data, w->n, w->off);
        return;
    case L_PART:
        switch (rnd() % 3) {
        case 0:
            return;
        case 1:
            real_pwrite(w->fd, w->data, w->n, w->off);
            return;
        default:
            real_pwrite(w->fd, w->data, w->n > 1 ? (size_t)(rnd() % w->n) : 0, w->off);
            return;
        }
    case L_TORN512:
    case L_TORN4K:
    case L_GARBAGE:
    case L_ZEROS:
        break;
    }
    for (size_t at = 0; at < w->n;) {
        /* Pieces end on sector boundaries of the file, as a disk tears them. */
        uint64_t pos = (uint64_t)(w->off + (off_t)at);
        size_t end = (size_t)((pos / sector + 1) * sector - (uint64_t)w->off);
        size_t len = (end < w->n ? end : w->n) - at;
        unsigned fate = (unsigned)(rnd() % (mode == L_TORN512 || mode == L_TORN4K ? 2 : 3));

        if (fate == 1) {
            real_pwrite(w->fd, w->data + at, len, w->off + (off_t)at);
        } else if (fate == 2) {
            for (size_t i = 0; i < len; i++)
                junk[i] = mode == L_ZEROS ? 0 : (unsigned char)rnd();
            real_pwrite(w->fd, junk, len, w->off + (off_t)at);
        }
        at += len;
    }
}

/* The simulated power loss.  Mutex held; never returns. */
static void
crash(int op)
{
    unsigned long nw = 0, bytes = 0, gone = 0;
    char msg[512];

    for (struct pending *w = F.head; w != NULL; w = w->next) {
        nw++;
        bytes += w->n;
        lose(w, F.loss);
    }
    for (size_t i = 0; F.loss != L_KEEP && i < F.ncreated; i++) {
        if (rnd() % 2 == 0 && unlink(F.created[i]) == 0)
            gone++;
    }
    snprintf(msg, sizeof(msg),
             "faultio: simulated power loss at %s #%lu (loss=%s): %lu pending writes (%lu bytes), "
             "%lu unsynced new files removed\n",
             op_names[op], F.count[op], loss_names[F.loss], nw, bytes, gone);
    say(msg);
    _exit(FAULTIO_CRASH_STATUS);
}

/*
 * Counts a call and decides its fate: 0 proceed, an errno to fail with, ERR_SHORT for a short
 * transfer.  May not return (the crash point).  Mutex held.
 */
static int
enter(int op, int fd, const char *path)
{
    int is_sync = op == OP_FDATASYNC || op == OP_FSYNC;

    F.count[op]++;
    if (is_sync)
        F.count[OP_SYNC]++;
    trace(op, fd, path);
    if (F.crash_op >= 0 && ((F.crash_op == op && F.count[op] == F.crash_n) ||
                            (F.crash_op == OP_SYNC && is_sync && F.count[OP_SYNC] == F.crash_n)))
        crash(F.crash_op);
    for (int i = 0; i < F.nrules; i++) {
        const struct rule *r = &F.rules[i];
        unsigned long c;
        if (r->op == op)
            c = F.count[op];
        else if (r->op == OP_SYNC && is_sync)
            c = F.count[OP_SYNC];
        else
            continue;
        if (c == r->n || (r->always && c > r->n))
            return r->err;
    }
    return 0;
}

static int
has_pending(int fd)
{
    for (struct pending *w = F.head; w != NULL; w = w->next)
        if (w->fd == fd)
            return 1;
    return 0;
}

/* Writes fd's pending writes to the file, in order, and forgets them.  0 or errno.  Mutex held. */
static int
flush_fd(int fd)
{
    struct pending **pp = &F.head, *w;
    int err = 0;

    while ((w = *pp) != NULL) {
        if (w->fd != fd) {
            pp = &w->next;
            continue;
        }
        if (err == 0)
            err = real_pwrite(fd, w->data, w->n, w->off);
        *pp = w->next;
        free(w->data);
        free(w);
    }
    return err;
}

/* The size the file would have with its pending writes.  -1 and errno on error.  Mutex held. */
static off_t
logical_size(int fd)
{
    struct stat st;
    off_t size;

    if (fstat(fd, &st) != 0)
        return -1;
    size = st.st_size;
    for (struct pending *w = F.head; w != NULL; w = w->next)
        if (w->fd == fd && w->off + (off_t)w->n > size)
            size = w->off + (off_t)w->n;
    return size;
}

static int
fio_open(const char *path, int flags, mode_t mode)
{
    int rc, fd, existed = 1;
    size_t len = strlen(path);

    pthread_mutex_lock(&F.mu);
    if ((rc = enter(OP_OPEN, -1, path)) > 0) {
        pthread_mutex_unlock(&F.mu);
        errno = rc;
        return -1;
    }
    if (flags & O_CREAT)
        existed = access(path, F_OK) == 0;
    fd = io_posix.open(path, flags, mode);
    if (fd >= 0 && fd >= F.nfds) {
        int n = fd + 64;
        struct fdinfo *nf = realloc(F.fds, sizeof(*nf) * (size_t)n);
        if (nf == NULL)
            abort(); /* test builds only */
        memset(nf + F.nfds, 0, sizeof(*nf) * (size_t)(n - F.nfds));
        F.fds = nf;
        F.nfds = n;
    }
    if (fd >= 0) {
        free(F.fds[fd].path);
        F.fds[fd].path = strdup(path);
        F.fds[fd].vol = len > 4 && strcmp(path + len - 4, ".vol") == 0;
        if (!existed) {
            char **nc = realloc(F.created, sizeof(*nc) * (F.ncreated + 1));
            if (nc == NULL)
                abort();
            F.created = nc;
            F.created[F.ncreated++] = strdup(path);
        }
    }
    pthread_mutex_unlock(&F.mu);
    return fd;
}

static int
fio_close(int fd)
{
    int rc;

    pthread_mutex_lock(&F.mu);
    rc = enter(OP_CLOSE, fd, NULL);
    flush_fd(fd);
    if (fdinfo(fd) != NULL) {
        free(F.fds[fd].path);
        F.fds[fd].path = NULL;
    }
    pthread_mutex_unlock(&F.mu);
    if (close(fd) != 0)
        return -1;
    if (rc > 0) { /* Linux closes the fd even when close() reports an error */
        errno = rc;
        return -1;
    }
    return 0;
}

static ssize_t
fio_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    struct fdinfo *fi;
    struct pending *w, **pp;
    int rc;

    pthread_mutex_lock(&F.mu);
    if ((rc = enter(OP_PWRITE, fd, NULL)) > 0) {
        pthread_mutex_unlock(&F.mu);
        errno = rc;
        return -1;
    }
    if (rc == ERR_SHORT && (n /= 2) == 0) {
        pthread_mutex_unlock(&F.mu);
        errno = ENOSPC;
        return -1;
    }
    if (!F.cache || (fi = fdinfo(fd)) == NULL || !fi->vol) {
        pthread_mutex_unlock(&F.mu);
        return pwrite(fd, buf, n, off);
    }
    if ((w = calloc(1, sizeof(*w))) == NULL || (w->data = malloc(n ? n : 1)) == NULL)
        abort(); /* test builds only */
    memcpy(w->data, buf, n);
    w->fd = fd;
    w->off = off;
    w->n = n;
    for (pp = &F.head; *pp != NULL; pp = &(*pp)->next)
        ;
    *pp = w;
    pthread_mutex_unlock(&F.mu);
    return (ssize_t)n;
}

static ssize_t
fio_pread(int fd, void *buf, size_t n, off_t off)
{
    unsigned char *p = buf;
    off_t size;
    size_t got = 0;
    int rc;

    pthread_mutex_lock(&F.mu);
    if ((rc = enter(OP_PREAD, fd, NULL)) > 0) {
        pthread_mutex_unlock(&F.mu);
        errno = rc;
        return -1;
    }
    if (rc == ERR_SHORT && n > 1)
        n /= 2;
    if (!has_pending(fd)) {
        pthread_mutex_unlock(&F.mu);
        return pread(fd, buf, n, off);
    }
    /* The file as it would be with its pending writes: disk bytes (holes as zeros), then the
     * pending writes laid over them in order. */
    if ((size = logical_size(fd)) < 0) {
        pthread_mutex_unlock(&F.mu);
        return -1;
    }
    if (off >= size) {
        pthread_mutex_unlock(&F.mu);
        return 0;
    }
    if ((off_t)n > size - off)
        n = (size_t)(size - off);
    memset(p, 0, n);
    while (got < n) {
        ssize_t r = pread(fd, p + got, n - got, off + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            pthread_mutex_unlock(&F.mu);
            return -1;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    for (struct pending *w = F.head; w != NULL; w = w->next) {
        off_t a, b;
        if (w->fd != fd)
            continue;
        a = w->off > off ? w->off : off;
        b = w->off + (off_t)w->n < off + (off_t)n ? w->off + (off_t)w->n : off + (off_t)n;
        if (a < b)
            memcpy(p + (a - off), w->data + (a - w->off), (size_t)(b - a));
    }
    pthread_mutex_unlock(&F.mu);
    return (ssize_t)n;
}

/* Forgets created files whose directory `dir` was just synced.  Mutex held. */
static void
dir_synced(const char *dir)
{
    size_t dl = strlen(dir), k = 0;

    for (size_t i = 0; i < F.ncreated; i++) {
        const char *c = F.created[i];
        if (strncmp(c, dir, dl) == 0 && c[dl] == '/' && strchr(c + dl + 1, '/') == NULL)
            free(F.created[i]);
        else
            F.created[k++] = F.created[i];
    }
    F.ncreated = k;
}

static int
do_sync(int op, int fd)
{
    char *dir = NULL;
    int rc;

    pthread_mutex_lock(&F.mu);
    if ((rc = enter(op, fd, NULL)) > 0 || (rc = flush_fd(fd)) != 0) {
        pthread_mutex_unlock(&F.mu);
        errno = rc;
        return -1;
    }
    if (fdinfo(fd) != NULL && (dir = strdup(fdinfo(fd)->path)) == NULL)
        abort();
    pthread_mutex_unlock(&F.mu);
    rc = op == OP_FSYNC ? fsync(fd) : fdatasync(fd);
    if (rc == 0 && dir != NULL) {
        int e = errno;
        pthread_mutex_lock(&F.mu);
        dir_synced(dir);
        pthread_mutex_unlock(&F.mu);
        errno = e;
    }
    free(dir);
    return rc;
}

static int
fio_fdatasync(int fd)
{
    return do_sync(OP_FDATASYNC, fd);
}

static int
fio_fsync(int fd)
{
    return do_sync(OP_FSYNC, fd);
}

static off_t
fio_size(int fd)
{
    off_t size;
    int rc;

    pthread_mutex_lock(&F.mu);
    if ((rc = enter(OP_SIZE, fd, NULL)) > 0) {
        pthread_mutex_unlock(&F.mu);
        errno = rc;
        return -1;
    }
    size = logical_size(fd);
    pthread_mutex_unlock(&F.mu);
    return size;
}

static int
fio_mkdir(const char *path, mode_t mode)
{
    int rc;

    pthread_mutex_lock(&F.mu);
    rc = enter(OP_MKDIR, -1, path);
    pthread_mutex_unlock(&F.mu);
    if (rc > 0) {
        errno = rc;
        return -1;
    }
    return io_posix.mkdir(path, mode);
}

static int
fio_unlink(const char *path)
{
    int rc;
    size_t k = 0;

    pthread_mutex_lock(&F.mu);
    if ((rc = enter(OP_UNLINK, -1, path)) > 0) {
        pthread_mutex_unlock(&F.mu);
        errno = rc;
        return -1;
    }
    for (size_t i = 0; i < F.ncreated; i++) {
        if (strcmp(F.created[i], path) == 0)
            free(F.created[i]);
        else
            F.created[k++] = F.created[i];
    }
    F.ncreated = k;
    rc = io_posix.unlink(path);
    pthread_mutex_unlock(&F.mu);
    return rc;
}

static const struct io_ops io_fault = {
    .open = fio_open,
    .close = fio_close,
    .pwrite = fio_pwrite,
    .pread = fio_pread,
    .fdatasync = fio_fdatasync,
    .fsync = fio_fsync,
    .size = fio_size,
    .mkdir = fio_mkdir,
    .unlink = fio_unlink,
};

/* "op:N" -> op index and N.  0 or -1. */
static int
parse_point(const char *v, int *op, unsigned long *n)
{
    const char *colon = strchr(v, ':');
    char *end;

    if (colon == NULL)
        return -1;
    for (*op = 0; *op < NOPS; (*op)++)
        if (strlen(op_names[*op]) == (size_t)(colon - v) &&
            strncmp(op_names[*op], v, (size_t)(colon - v)) == 0)
            break;
    if (*op == NOPS)
        return -1;
    *n = strtoul(colon + 1, &end, 10);
    return *end == '\0' && *n > 0 ? 0 : -1;
}

const struct io_ops *
faultio_setup(const char *spec)
{
    char *copy = strdup(spec), *save = NULL, *item;
    int cache = -1, ok = copy != NULL;

    for (item = ok ? strtok_r(copy, ",", &save) : NULL; item != NULL && ok;
         item = strtok_r(NULL, ",", &save)) {
        char *v = strchr(item, '=');
        struct rule *last = F.nrules > 0 ? &F.rules[F.nrules - 1] : NULL;
        if (v == NULL) {
            ok = 0;
            break;
        }
        *v++ = '\0';
        if (strcmp(item, "fail") == 0) {
            struct rule r = {0, 0, EIO, 0};
            ok = F.nrules < MAX_RULES && parse_point(v, &r.op, &r.n) == 0;
            if (ok)
                F.rules[F.nrules++] = r;
        } else if (strcmp(item, "err") == 0 && last != NULL) {
            if (strcmp(v, "EIO") == 0)
                last->err = EIO;
            else if (strcmp(v, "ENOSPC") == 0)
                last->err = ENOSPC;
            else if (strcmp(v, "EDQUOT") == 0)
                last->err = EDQUOT;
            else if (strcmp(v, "EFBIG") == 0)
                last->err = EFBIG;
            else if (strcmp(v, "short") == 0 && (last->op == OP_PWRITE || last->op == OP_PREAD))
                last->err = ERR_SHORT;
            else
                ok = 0;
        } else if (strcmp(item, "mode") == 0 && last != NULL) {
            if (strcmp(v, "once") == 0 || strcmp(v, "always") == 0)
                last->always = v[0] == 'a';
            else
                ok = 0;
        } else if (strcmp(item, "crash") == 0) {
            ok = parse_point(v, &F.crash_op, &F.crash_n) == 0;
        } else if (strcmp(item, "loss") == 0) {
            size_t i;
            for (i = 0; i < sizeof(loss_names) / sizeof(*loss_names); i++)
                if (strcmp(v, loss_names[i]) == 0)
                    break;
            ok = i < sizeof(loss_names) / sizeof(*loss_names);
            F.loss = (enum loss)i;
        } else if (strcmp(item, "seed") == 0) {
            char *end;
            F.rng = strtoull(v, &end, 10);
            ok = *end == '\0' && *v != '\0';
        } else if (strcmp(item, "cache") == 0) {
            ok = strcmp(v, "on") == 0 || strcmp(v, "off") == 0;
            cache = strcmp(v, "on") == 0;
        } else if (strcmp(item, "trace") == 0) {
            F.trace_fd = open(v, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            ok = F.trace_fd >= 0;
        } else {
            ok = 0;
        }
    }
    if (!ok)
        fprintf(stderr, "faultio: cannot parse COBALT_IO_FAULTS='%s' (see src/store/faultio.c)\n",
                spec);
    free(copy);
    if (!ok)
        return NULL;
    F.cache = cache >= 0 ? cache : F.crash_op >= 0;
    return &io_fault;
}

#endif /* COBALT_FAULT_INJECTION */
