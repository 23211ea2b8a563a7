/*
 * store.c -- volumes, needle writers and verified readers; see store.h for the invariants V1-V5.
 *
 * Layout: <dir>/<id as 8 hex digits>.vol, ids from 1.  The highest id is the active volume; new
 * needles are reserved at its end under the store mutex (a short critical section: no I/O except
 * when a new volume is created), then written without any lock.
 *
 * Group fdatasync: each volume counts needles finished (written_seq) and needles known durable
 * (synced_seq).  store_sync() waits until synced_seq reaches the written_seq it saw on entry; if no
 * sync is running it starts one itself, covering everything finished up to that moment.  Writers
 * that arrive while a sync runs are all served by the next one.
 */
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/needle.h"
#include "util/buf.h"
#include "util/crc.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/timefmt.h"

#define STAGE_SIZE (16 * NEEDLE_CHUNK) /* 1 MiB: writes reach the disk in chunk multiples */
/* An upload's stage is one chunk: it lives as long as its request, and a client that stalls
 * mid-body keeps it (4,096 stalled uploads held 4 GiB with a 1 MiB stage).  A chunk is also the
 * most the HTTP layer hands over at a time, so a larger stage saved no copying, only pwrite calls. */
#define WRITE_STAGE NEEDLE_CHUNK

struct volume {
    uint32_t id;
    int fd;
    uint64_t written_seq; /* needles finished in this volume */
    uint64_t synced_seq;  /* needles known durable */
    int syncing;
    unsigned readers; /* reads in progress (volume_get/volume_put) */
    unsigned pending; /* needles written here whose request has not ended (store_release) */
    int retired;      /* compacted away: unlinked, closed when the last pin goes */
    int fresh;        /* created by this process: written_seq counts all it holds */
};

struct store {
    const struct io_ops *io;
    char *dir;
    int fsync;
    uint64_t volume_size;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct volume **vols; /* indexed by id; vols[0] unused */
    uint32_t nvols;       /* highest id */
    uint64_t active_end;  /* next free offset in vols[nvols] */
    uint64_t seq;         /* last needle sequence number handed out */
    int failed;           /* V4: errno of the first failed write or sync */
};

struct needle_writer {
    struct store *s;
    struct volume *v;
    uint64_t off, len, done;
    unsigned char *stage; /* WRITE_STAGE bytes */
    size_t staged;
    unsigned char *crcs; /* 4 * chunks + 4 */
    uint64_t seq;
};

static void writer_free(struct needle_writer *w);
static void fail(struct store *s, int err);

struct store_reader {
    struct store *s;
    unsigned char *buf; /* data of whole chunks, then their CRCs */
    size_t cap;
};

/*
 * A failed write: the store stops taking writes (V4) -- except when the disk is full.  ENOSPC
 * (and EDQUOT, EFBIG) from pwrite loses nothing: the bytes of that needle were never synced, so
 * nobody acknowledged them, and the region is garbage (V3).  The write is refused and later writes
 * succeed again once space is freed.  A failed *sync* always fails the store (sync_volume).
 */
static void
write_failed(struct store *s, int err)
{
    if (err == ENOSPC || err == EDQUOT || err == EFBIG) {
        log_warn("store: %s: refusing this write", strerror(err));
        return;
    }
    fail(s, err);
}

/* V4: the store refuses writes from now on.  Mutex held. */
static void
mark_failed(struct store *s, int err)
{
    s->failed = err;
    metric_set(M_STORE_FAILED, 1);
}

static void
fail(struct store *s, int err)
{
    pthread_mutex_lock(&s->mu);
    if (!s->failed) {
        mark_failed(s, err);
        log_error("store: %s; refusing writes until restart", strerror(err));
    }
    pthread_mutex_unlock(&s->mu);
}

int
store_failed(const struct store *s)
{
    return __atomic_load_n(&s->failed, __ATOMIC_ACQUIRE);
}

static int
volume_path(const struct store *s, uint32_t id, char *out, size_t n)
{
    return snprintf(out, n, "%s/%08x.vol", s->dir, id) >= (int)n ? ENAMETOOLONG : 0;
}

/* Pins volume `id` for reading; NULL when it does not exist or was retired. */
static struct volume *
volume_get(struct store *s, uint32_t id)
{
    struct volume *v = NULL;

    pthread_mutex_lock(&s->mu);
    if (id >= 1 && id <= s->nvols && s->vols[id] != NULL && !s->vols[id]->retired) {
        v = s->vols[id];
        v->readers++;
    }
    pthread_mutex_unlock(&s->mu);
    return v;
}

/* Closes a retired volume once nothing pins it.  Mutex held. */
static void
volume_maybe_free(struct store *s, struct volume *v)
{
    if (!v->retired || v->readers > 0 || v->pending > 0)
        return;
    s->io->close(v->fd);
    s->vols[v->id] = NULL;
    free(v);
}

static void
volume_put(struct store *s, struct volume *v)
{
    pthread_mutex_lock(&s->mu);
    v->readers--;
    volume_maybe_free(s, v);
    pthread_mutex_unlock(&s->mu);
}

/* Adds an opened volume to the table.  Called with the mutex held or before threads exist. */
static int
volume_add(struct store *s, uint32_t id, int fd)
{
    struct volume *v, **nv;

    if (id >= s->nvols + 1 || s->vols == NULL) {
        nv = realloc(s->vols, sizeof(*nv) * ((size_t)id + 1));
        if (nv == NULL)
            return ENOMEM;
        for (uint32_t i = s->vols == NULL ? 0 : s->nvols + 1; i <= id; i++)
            nv[i] = NULL;
        s->vols = nv;
    }
    if ((v = calloc(1, sizeof(*v))) == NULL)
        return ENOMEM;
    v->id = id;
    v->fd = fd;
    s->vols[id] = v;
    if (id > s->nvols)
        s->nvols = id;
    return 0;
}

/* Creates volume nvols + 1 and makes it durable before use (V5).  Mutex held. */
static int
volume_create(struct store *s)
{
    char path[4096];
    uint32_t id = s->nvols + 1;
    int fd, err;

    if ((err = volume_path(s, id, path, sizeof(path))) != 0)
        return err;
    fd = s->io->open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
    if (fd < 0)
        return errno;
    if (s->fsync && (s->io->fsync(fd) != 0 || io_sync_dir(s->io, s->dir) != 0)) {
        err = errno ? errno : EIO;
        s->io->close(fd);
        return err;
    }
    if ((err = volume_add(s, id, fd)) != 0) {
        s->io->close(fd);
        return err;
    }
    s->vols[id]->fresh = 1;
    s->active_end = 0;
    return 0;
}

int
store_open(const struct store_config *cfg, struct store **out)
{
    struct store *s;
    DIR *d = NULL;
    struct dirent *de;
    char path[4096];
    unsigned id;
    int fd, err = 0;
    off_t size;

    if ((s = calloc(1, sizeof(*s))) == NULL)
        return ENOMEM;
    s->io = cfg->io ? cfg->io : &io_posix;
    s->fsync = cfg->fsync;
    s->volume_size = cfg->volume_size ? cfg->volume_size : (uint64_t)1 << 30;
    s->seq = (uint64_t)ticks_now();
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
    if ((s->dir = strdup(cfg->dir)) == NULL) {
        err = ENOMEM;
        goto fail;
    }
    if (s->io->mkdir(s->dir, 0755) != 0 && errno != EEXIST) {
        err = errno;
        goto fail;
    }
    if ((d = opendir(s->dir)) == NULL) {
        err = errno;
        goto fail;
    }
    while ((de = readdir(d)) != NULL) {
        char tail[8];
        if (sscanf(de->d_name, "%8x.vo%1s", &id, tail) != 2 || strlen(de->d_name) != 12 || id == 0)
            continue;
        if ((err = volume_path(s, id, path, sizeof(path))) != 0)
            goto fail;
        if ((fd = s->io->open(path, O_RDWR, 0)) < 0) {
            err = errno;
            goto fail;
        }
        if ((err = volume_add(s, id, fd)) != 0) {
            s->io->close(fd);
            goto fail;
        }
    }
    closedir(d);
    d = NULL;
    if (s->nvols == 0) {
        if ((err = volume_create(s)) != 0)
            goto fail;
    } else {
        /* Bytes past the last referenced needle are garbage (V3); appending after them is safe. */
        if ((size = s->io->size(s->vols[s->nvols]->fd)) < 0) {
            err = errno;
            goto fail;
        }
        s->active_end = (uint64_t)size;
    }
    *out = s;
    return 0;

fail:
    if (d != NULL)
        closedir(d);
    store_close(s);
    return err;
}

void
store_close(struct store *s)
{
    if (s == NULL)
        return;
    for (uint32_t i = 1; s->vols != NULL && i <= s->nvols; i++) {
        if (s->vols[i] == NULL)
            continue;
        if (s->fsync && !s->failed)
            s->io->fdatasync(s->vols[i]->fd);
        s->io->close(s->vols[i]->fd);
        free(s->vols[i]);
    }
    free(s->vols);
    free(s->dir);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cond);
    free(s);
}

int
store_write_begin(struct store *s, uint64_t len, struct needle_writer **out)
{
    struct needle_writer *w;
    uint64_t chunks = needle_chunks(len);
    int err = 0;

    if (len == 0 || chunks > SIZE_MAX / 4 - 1)
        return EINVAL;
    if ((w = calloc(1, sizeof(*w))) == NULL || (w->stage = malloc(WRITE_STAGE)) == NULL ||
        (w->crcs = malloc(4 * chunks + 4)) == NULL) {
        err = ENOMEM;
        goto fail;
    }
    pthread_mutex_lock(&s->mu);
    if (s->failed) {
        err = s->failed;
    } else if (s->active_end >= s->volume_size && (err = volume_create(s)) != 0) {
        /* Nothing was written: a full disk refuses this write only (V4); other errors stop. */
        if (err == ENOSPC || err == EDQUOT || err == EFBIG) {
            log_warn("store: cannot create a volume: %s: refusing this write", strerror(err));
        } else {
            mark_failed(s, err);
            log_error("store: cannot create a volume: %s; refusing writes until restart",
                      strerror(err));
        }
    }
    if (err == 0) {
        w->v = s->vols[s->nvols];
        w->v->pending++; /* until store_release(): compaction leaves this volume alone */
        w->off = s->active_end;
        s->active_end += needle_size(len);
        w->seq = ++s->seq;
    }
    pthread_mutex_unlock(&s->mu);
    if (err != 0)
        goto fail;
    w->s = s;
    w->len = len;
    *out = w;
    return 0;

fail:
    writer_free(w);
    return err;
}

static void
writer_free(struct needle_writer *w)
{
    if (w == NULL)
        return;
    free(w->stage);
    free(w->crcs);
    free(w);
}

void
store_write_abort(struct needle_writer *w)
{
    struct volume *v;
    char path[4096];
    int drop = 0;

    if (w == NULL)
        return;
    if ((v = w->v) != NULL) {
        /*
         * Abandoned uploads (a client that declares 5 GB and hangs up) must not cost space or
         * descriptors: give the reservation back when nothing was reserved after it, and delete
         * a volume this process created that ends up holding no finished needle at all.
         */
        pthread_mutex_lock(&w->s->mu);
        if (v->id == w->s->nvols && w->s->active_end == w->off + needle_size(w->len))
            w->s->active_end = w->off;
        drop = v->fresh && v->written_seq == 0 && v->pending == 1 && v->id != w->s->nvols &&
               !v->retired;
        if (drop)
            v->retired = 1;
        pthread_mutex_unlock(&w->s->mu);
        if (drop && volume_path(w->s, v->id, path, sizeof(path)) == 0)
            w->s->io->unlink(path); /* only garbage in it (V3) */
        struct extent e = {0};
        e.vol = w->v->id;
        store_release(w->s, &e);
    }
    writer_free(w);
}

void
store_release(struct store *s, const struct extent *e)
{
    struct volume *v;

    if (e->vol == 0)
        return;
    pthread_mutex_lock(&s->mu);
    if (e->vol <= s->nvols && (v = s->vols[e->vol]) != NULL && v->pending > 0) {
        v->pending--;
        volume_maybe_free(s, v);
    }
    pthread_mutex_unlock(&s->mu);
}

/* Writes the staged bytes (whole chunks, or the final partial one) after checksumming them. */
static int
flush_stage(struct needle_writer *w)
{
    uint64_t base = w->done - w->staged; /* data offset of stage[0]; chunk aligned */
    uint64_t first = base >> NEEDLE_CHUNK_SHIFT;
    int err;

    for (size_t at = 0; at < w->staged; at += NEEDLE_CHUNK) {
        size_t n = w->staged - at < NEEDLE_CHUNK ? w->staged - at : NEEDLE_CHUNK;
        uint32_t c = crc32c(0, w->stage + at, n);
        put_le32(w->crcs + 4 * (first + at / NEEDLE_CHUNK), c);
    }
    err = io_pwrite_full(w->s->io, w->v->fd, w->stage, w->staged,
                         (off_t)(w->off + NEEDLE_HDR_SIZE + base));
    if (err != 0) {
        write_failed(w->s, err);
        return err;
    }
    w->staged = 0;
    return 0;
}

int
store_write(struct needle_writer *w, const void *p, size_t n)
{
    const unsigned char *src = p;
    size_t take;
    int err;

    if (n > w->len - w->done)
        return EINVAL;
    while (n > 0) {
        take = WRITE_STAGE - w->staged < n ? WRITE_STAGE - w->staged : n;
        memcpy(w->stage + w->staged, src, take);
        w->staged += take;
        w->done += take;
        src += take;
        n -= take;
        if (w->staged == WRITE_STAGE && (err = flush_stage(w)) != 0)
            return err;
    }
    return 0;
}

int
store_write_finish(struct needle_writer *w, struct extent *e)
{
    struct store *s = w->s;
    unsigned char hdr[NEEDLE_HDR_SIZE];
    struct needle_hdr h = {w->seq, w->len};
    uint64_t chunks = needle_chunks(w->len);
    int err = EINVAL;

    if (w->done != w->len)
        goto out;
    if (w->staged > 0 && (err = flush_stage(w)) != 0)
        goto out;
    needle_trailer_seal(w->crcs, chunks);
    needle_hdr_encode(&h, hdr);
    if ((err = io_pwrite_full(s->io, w->v->fd, w->crcs, 4 * chunks + 4,
                              (off_t)(w->off + NEEDLE_HDR_SIZE + w->len))) != 0 ||
        (err = io_pwrite_full(s->io, w->v->fd, hdr, sizeof(hdr), (off_t)w->off)) != 0) {
        write_failed(s, err);
        goto out;
    }
    pthread_mutex_lock(&s->mu);
    w->v->written_seq++;
    pthread_mutex_unlock(&s->mu);
    e->seq = w->seq;
    e->vol = w->v->id;
    e->off = w->off;
    e->len = w->len;
    writer_free(w); /* the pending pin now belongs to the caller's extent */
    return 0;
out:
    store_write_abort(w);
    return err;
}

/* Group fdatasync of one volume; see the file comment.  Mutex held on entry and exit. */
static int
sync_volume(struct store *s, struct volume *v)
{
    uint64_t target = v->written_seq, upto;
    int rc;

    while (v->synced_seq < target) {
        if (s->failed)
            return s->failed;
        if (v->syncing) {
            pthread_cond_wait(&s->cond, &s->mu);
            continue;
        }
        v->syncing = 1;
        upto = v->written_seq;
        pthread_mutex_unlock(&s->mu);
        rc = s->io->fdatasync(v->fd) == 0 ? 0 : (errno ? errno : EIO);
        pthread_mutex_lock(&s->mu);
        v->syncing = 0;
        metric_add(M_STORE_SYNCS, 1);
        if (rc != 0 && !s->failed) {
            mark_failed(s, rc); /* V4: never retried, never acknowledged */
            log_error("store: fdatasync of volume %u failed: %s; refusing writes until restart",
                      v->id, strerror(rc));
        } else if (rc == 0) {
            v->synced_seq = upto;
        }
        pthread_cond_broadcast(&s->cond);
    }
    return s->failed;
}

int
store_sync(struct store *s, const struct extent *e, size_t n)
{
    int err = 0;

    if (!s->fsync)
        return store_failed(s);
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < n && err == 0; i++) {
        if (e[i].vol == 0 || e[i].vol > s->nvols || s->vols[e[i].vol] == NULL)
            err = EINVAL;
        else
            err = sync_volume(s, s->vols[e[i].vol]);
    }
    pthread_mutex_unlock(&s->mu);
    return err;
}

int
store_reader_new(struct store *s, struct store_reader **r)
{
    if ((*r = calloc(1, sizeof(**r))) == NULL)
        return ENOMEM;
    (*r)->s = s;
    return 0;
}

void
store_reader_free(struct store_reader *r)
{
    if (r == NULL)
        return;
    free(r->buf);
    free(r);
}

static long read_chunks(struct store_reader *r, int fd, const struct extent *e, uint64_t off,
                        void *dst, size_t n);

long
store_reader_read(struct store_reader *r, const struct extent *e, uint64_t off, void *dst, size_t n)
{
    struct volume *v;
    long rc;

    if (off >= e->len || n == 0)
        return 0;
    if ((v = volume_get(r->s, e->vol)) == NULL)
        return -ENOENT;
    rc = read_chunks(r, v->fd, e, off, dst, n);
    volume_put(r->s, v);
    return rc;
}

static long
read_chunks(struct store_reader *r, int fd, const struct extent *e, uint64_t off, void *dst,
            size_t n)
{
    const struct io_ops *io = r->s->io;
    uint64_t c0, c1, data_off, data_len, nch, chunks = needle_chunks(e->len);
    unsigned char *crcs, *data;
    size_t need;
    int err, direct;

    if (n > e->len - off)
        n = (size_t)(e->len - off);
    if (n > STAGE_SIZE)
        n = STAGE_SIZE; /* bounded work per call; callers loop */
    c0 = off >> NEEDLE_CHUNK_SHIFT;
    c1 = (off + n - 1) >> NEEDLE_CHUNK_SHIFT;
    nch = c1 - c0 + 1;
    data_off = c0 << NEEDLE_CHUNK_SHIFT;
    data_len = ((c1 + 1) << NEEDLE_CHUNK_SHIFT) < e->len
                   ? ((c1 + 1) << NEEDLE_CHUNK_SHIFT) - data_off
                   : e->len - data_off;
    /* Whole chunks from a chunk boundary (what streaming GETs ask for): read into dst and verify
     * there, sparing a copy; dst then holds unverified bytes until the check passed, which the
     * contract allows.  Small or unaligned reads go through r->buf, in one read when the needle is
     * read whole. */
    direct = off == data_off && n == data_len && n >= NEEDLE_CHUNK;
    need = (size_t)(direct ? 4 * nch : data_len + 4 * nch);
    if (need > r->cap) {
        unsigned char *nb = realloc(r->buf, need);
        if (nb == NULL)
            return -ENOMEM;
        r->buf = nb;
        r->cap = need;
    }
    data = direct ? dst : r->buf;
    crcs = direct ? r->buf : r->buf + data_len;
    if (!direct && c1 == chunks - 1 && c0 == 0) {
        /* The whole needle: data and chunk CRCs are contiguous, so one read serves both. */
        err = io_pread_full(io, fd, r->buf, need, (off_t)(e->off + NEEDLE_HDR_SIZE));
    } else {
        err = io_pread_full(io, fd, data, (size_t)data_len,
                            (off_t)(e->off + NEEDLE_HDR_SIZE + data_off));
        if (err == 0)
            err = io_pread_full(io, fd, crcs, (size_t)(4 * nch),
                                (off_t)(e->off + NEEDLE_HDR_SIZE + e->len + 4 * c0));
    }
    if (err != 0)
        return -err;
    for (uint64_t i = 0; i < nch; i++) {
        uint64_t at = i << NEEDLE_CHUNK_SHIFT;
        size_t len = data_len - at < NEEDLE_CHUNK ? (size_t)(data_len - at) : NEEDLE_CHUNK;
        if (crc32c(0, data + at, len) != get_le32(crcs + 4 * i)) {
            log_error("store: checksum mismatch in volume %u needle at %llu chunk %llu", e->vol,
                      (unsigned long long)e->off, (unsigned long long)(c0 + i));
            return -EBADMSG;
        }
    }
    if (!direct)
        memcpy(dst, r->buf + (off - data_off), n);
    return (long)n;
}

int64_t
store_volume_size(struct store *s, uint32_t vol)
{
    struct volume *v = volume_get(s, vol);
    off_t size;

    if (v == NULL)
        return -1;
    size = s->io->size(v->fd);
    volume_put(s, v);
    return size < 0 ? -1 : (int64_t)size;
}

/* Verifies (and, when out is not NULL, copies) the needle at e through fd.  See store_verify. */
static int
verify_fd(struct store *s, int fd, const struct extent *e, char *why, size_t whylen,
          int (*out)(void *ctx, const void *p, size_t n, uint64_t at), void *ctx)
{
    unsigned char hdr[NEEDLE_HDR_SIZE], *crcs = NULL, *buf = NULL;
    uint64_t chunks = needle_chunks(e->len), tsize = needle_trailer_size(e->len);
    struct needle_hdr h;
    off_t vsize = s->io->size(fd);
    int err = 0;

    if (vsize < 0)
        return -(errno ? errno : EIO);
    if (e->off + needle_size(e->len) > (uint64_t)vsize) {
        snprintf(why, whylen, "needle ends past the end of volume %u", e->vol);
        return -EBADMSG;
    }
    if ((err = io_pread_full(s->io, fd, hdr, sizeof(hdr), (off_t)e->off)) != 0)
        return -err;
    if (needle_hdr_decode(hdr, &h) != 0 || h.seq != e->seq || h.len != e->len) {
        snprintf(why, whylen, "bad needle header");
        return -EBADMSG;
    }
    if ((crcs = malloc(tsize)) == NULL || (buf = malloc(STAGE_SIZE)) == NULL) {
        err = ENOMEM;
        goto out;
    }
    if ((err = io_pread_full(s->io, fd, crcs, tsize, (off_t)(e->off + NEEDLE_HDR_SIZE + e->len))))
        goto out;
    if (needle_trailer_check(crcs, chunks) != 0) {
        snprintf(why, whylen, "bad trailer checksum");
        err = EBADMSG;
        goto out;
    }
    if (out != NULL && (err = out(ctx, hdr, sizeof(hdr), 0)) != 0)
        goto out;
    for (uint64_t at = 0; at < e->len; at += STAGE_SIZE) {
        size_t n = e->len - at < STAGE_SIZE ? (size_t)(e->len - at) : STAGE_SIZE;
        if ((err = io_pread_full(s->io, fd, buf, n, (off_t)(e->off + NEEDLE_HDR_SIZE + at))))
            goto out;
        for (size_t c = 0; c < n; c += NEEDLE_CHUNK) {
            size_t cn = n - c < NEEDLE_CHUNK ? n - c : NEEDLE_CHUNK;
            uint64_t idx = (at + c) >> NEEDLE_CHUNK_SHIFT;
            if (crc32c(0, buf + c, cn) != get_le32(crcs + 4 * idx)) {
                snprintf(why, whylen, "checksum mismatch in chunk %llu", (unsigned long long)idx);
                err = EBADMSG;
                goto out;
            }
        }
        if (out != NULL && (err = out(ctx, buf, n, NEEDLE_HDR_SIZE + at)) != 0)
            goto out;
    }
    if (out != NULL)
        err = out(ctx, crcs, tsize, NEEDLE_HDR_SIZE + e->len);
out:
    free(crcs);
    free(buf);
    return -err;
}

int
store_verify(struct store *s, const struct extent *e, char *why, size_t whylen)
{
    struct volume *v = volume_get(s, e->vol);
    int rc;

    if (v == NULL) {
        snprintf(why, whylen, "volume %u is missing", e->vol);
        return -EBADMSG;
    }
    rc = verify_fd(s, v->fd, e, why, whylen, NULL, NULL);
    volume_put(s, v);
    return rc;
}

struct copy_ctx {
    struct store *s;
    int fd;
    uint64_t base;
};

static int
copy_out(void *ctx, const void *p, size_t n, uint64_t at)
{
    struct copy_ctx *c = ctx;

    return io_pwrite_full(c->s->io, c->fd, p, n, (off_t)(c->base + at));
}

int
store_copy(struct store *s, const struct extent *src, struct extent *dst)
{
    struct needle_writer *w;
    struct volume *v;
    struct copy_ctx c;
    char why[128];
    int rc;

    if ((v = volume_get(s, src->vol)) == NULL)
        return -ENOENT;
    if ((rc = store_write_begin(s, src->len, &w)) != 0) {
        volume_put(s, v);
        return -rc;
    }
    c = (struct copy_ctx){s, w->v->fd, w->off};
    rc = verify_fd(s, v->fd, src, why, sizeof(why), copy_out, &c);
    volume_put(s, v);
    if (rc != 0) {
        if (rc != -EBADMSG)
            fail(s, -rc);
        else
            log_error("store: not copying needle %llu of volume %u: %s",
                      (unsigned long long)src->seq, src->vol, why);
        store_write_abort(w);
        return rc;
    }
    pthread_mutex_lock(&s->mu);
    w->v->written_seq++;
    pthread_mutex_unlock(&s->mu);
    *dst = (struct extent){src->seq, w->v->id, w->off, src->len, NULL};
    writer_free(w);
    return 0;
}

int
store_volumes(struct store *s, struct store_volume_info **out, size_t *n)
{
    struct store_volume_info *v;
    size_t k = 0;

    pthread_mutex_lock(&s->mu);
    v = calloc(s->nvols ? s->nvols : 1, sizeof(*v));
    for (uint32_t i = 1; v != NULL && i <= s->nvols; i++) {
        off_t size;
        if (s->vols[i] == NULL || s->vols[i]->retired)
            continue;
        size = s->io->size(s->vols[i]->fd);
        v[k++] = (struct store_volume_info){i, size < 0 ? 0 : (uint64_t)size, i == s->nvols,
                                            s->vols[i]->pending};
    }
    pthread_mutex_unlock(&s->mu);
    *out = v;
    *n = k;
    return v == NULL ? ENOMEM : 0;
}

int
store_retire(struct store *s, uint32_t vol)
{
    char path[4096];
    struct volume *v;
    int err;

    if ((err = volume_path(s, vol, path, sizeof(path))) != 0)
        return err;
    pthread_mutex_lock(&s->mu);
    if (vol == s->nvols || vol == 0 || vol > s->nvols || (v = s->vols[vol]) == NULL || v->retired) {
        pthread_mutex_unlock(&s->mu);
        return vol == s->nvols ? EBUSY : 0; /* the active volume is never retired */
    }
    v->retired = 1;
    volume_maybe_free(s, v);
    pthread_mutex_unlock(&s->mu);
    if (s->io->unlink(path) != 0 && errno != ENOENT)
        return errno;
    return s->fsync ? io_sync_dir(s->io, s->dir) : 0;
}
