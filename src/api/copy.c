/*
 * copy.c -- Copy Blob, Copy Blob From URL, Abort Copy Blob, Put Blob From URL, Put Block From URL
 * (protocol doc §2.4, §2.11, §5.1 source conditions, §5.6 the copy status machine), the x-ms-copy-*
 * properties reads and listings show, and the small pool of threads that runs copies from outside.
 *
 * Where a source lives decides how it is copied:
 *
 *  - Local: the source URL names this server (its authority is the request's Host, or a loopback
 *    address on our port) and one of our accounts.  The source record is read directly -- no HTTP
 *    loop-back -- after authorizing it like a request of its own: a SAS in the source URL is
 *    checked by auth/ exactly as on a GET; without one, a Shared Key caller may read its own
 *    account, and anyone may read a public container.  Whole-blob copies (Copy Blob, Copy Blob From
 *    URL, Put Blob From URL) only write metadata: the destination record names the source's
 *    needles, which are never duplicated (compaction marks every record's extents, so a needle
 *    lives while any record names it).  Copy Blob therefore completes at once with status success.
 *    Put Block From URL stages one needle per block, so it copies the range's bytes.
 *
 *  - External: any other http(s) URL is fetched with libcurl (fetch.c), streamed into needles.
 *    Copy Blob is asynchronous: the destination is committed as a zero-length blob with status
 *    pending plus a pending-copy marker (meta/copykey.h), the 202 goes out, and a pool thread
 *    fetches, syncs (V2) and commits the content with status success, or status failed with a
 *    description.  The *From URL operations fetch on the request's thread and answer when done.
 *
 * Commit order as everywhere (DESIGN invariant 1): bytes in needles, store_sync, then under the
 * container lock (read) and the blob's stripe lock the record is re-read, conditions evaluated and
 * the batch committed.  A local copy holds the source's stripe lock too (both taken in stripe
 * order), so a concurrent delete of the source is ordered before the copy read it or after the
 * copy committed: the shared needles are referenced by some record at every instant.
 *
 * Invariants of the copy state machine (pending -> success | failed | aborted):
 *  C1  a record's copy status is pending exactly while a marker 'Y' (cid, name) holding its copy
 *      id exists; both change in the same batch, under the destination's stripe lock.
 *  C2  a worker commits only if the destination is still pending with its copy id (an abort, an
 *      overwrite or a newer copy wins); otherwise its needles are left as garbage (V3).
 *  C3  a copy left pending by a crash is marked failed at start-up (copy_pool_start), with a
 *      description saying so: the source may have changed since, so it is not silently restarted;
 *      the client starts it again.  A clean shutdown marks copies still running failed the same way.
 *
 * The pool is shared by every account, so it is rationed (a slow or endless source must not hold
 * up other accounts' copies):
 *  P1  each account has its own FIFO of copies not started, at most srv->copy_queue_max long; a
 *      copy beyond it is refused 503 ServerBusy before anything is committed.
 *  P2  idle workers >= accounts running no copy: an account already running copies may start
 *      another only if a worker stays idle for every other account that runs none.  With at least
 *      as many workers as accounts (COPY_THREADS_MAX allowing), an account's first copy therefore
 *      always finds a worker at once; free workers take queued copies round-robin by account.
 *  P3  a fetch fails when its source sends nothing for srv->copy_stall_secs, and an asynchronous
 *      copy fails after COPY_DEADLINE in all (Azure's two weeks), so no copy holds a worker for ever.
 */
#include "api/api_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/fetch.h"
#include "api/parse.h"
#include "api/tagexpr.h"
#include "meta/copykey.h"
#include "util/arena.h"
#include "util/codec.h"
#include "util/crc.h"
#include "util/log.h"
#include "util/timefmt.h"
#include "util/xml.h"

#define COPY_SYNC_MAX    (256ull << 20)    /* Copy Blob From URL */
#define PUT_FROM_URL_MAX (5000ull << 20)   /* Put Blob From URL */
#define BLOCK_MAX        (4000ull << 20)   /* Put Block From URL */
#define APPEND_MAX       (100ull << 20)    /* Append Block From URL */
#define ASYNC_MAX        (50000ull * (4000ull << 20))   /* Copy Blob: Azure's largest block blob */
#define ASYNC_SEGMENT    (256ull << 20)    /* needle size of asynchronous copies */
#define COPY_DEADLINE    (14L * 86400)     /* Azure fails a copy still pending after two weeks */
#define COPY_THREADS     4                 /* workers at least; one per account beyond (P2) */
#define COPY_THREADS_MAX 64
#define JOB_ARENA        (64u << 20)
#define READ_BUF         (1u << 20)

enum copy_kind { K_COPY, K_COPY_SYNC, K_PUT_FROM_URL };

/* ---- the route table's discriminators ------------------------------------------------- */

static int
requires_sync(struct api_req *q)
{
    const char *v = api_header(q, "x-ms-requires-sync");

    return v != NULL && strcasecmp(v, "true") == 0;
}

int
api_is_copy_blob(struct api_req *q)
{
    return api_header(q, "x-ms-copy-source") != NULL && api_header(q, "x-ms-blob-type") == NULL &&
           !requires_sync(q);
}

int
api_is_copy_blob_sync(struct api_req *q)
{
    return api_header(q, "x-ms-copy-source") != NULL && api_header(q, "x-ms-blob-type") == NULL &&
           requires_sync(q);
}

int
api_is_put_blob_from_url(struct api_req *q)
{
    const char *t = api_header(q, "x-ms-blob-type");

    return t != NULL && strcasecmp(t, "BlockBlob") == 0 &&
           api_header(q, "x-ms-copy-source") != NULL;
}

int
api_has_copy_source(struct api_req *q)
{
    return api_header(q, "x-ms-copy-source") != NULL;
}

/* ---- the pool --------------------------------------------------------------------------- */

struct copy_job {
    struct copy_job *next_q;        /* its account's FIFO of jobs not started */
    struct copy_job *next_all;      /* every job queued or running */
    char id[37];
    unsigned acct;                  /* the destination's account (index in srv->accounts) */
    char *account, *container, *blob, *url, *authorization;
    char *if_match, *if_none_match, *if_modified_since, *if_unmodified_since;
    size_t blob_len;
    uint64_t cid;
    int meta_from_source;           /* the request named no metadata: take the source's */
    int cancel;                     /* atomic: abort or shutdown */
    uint64_t copied, total;         /* atomic: progress */
};

struct acct_jobs {
    struct copy_job *head, *tail;   /* FIFO of jobs not started */
    unsigned queued;                /* admitted and not started (P1), the FIFO's and reserved */
    unsigned running;
};

struct copy_pool {
    struct server *srv;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct acct_jobs *acct;         /* per account, as srv->accounts */
    size_t nacct;
    size_t rr;                      /* the account served next when several may start a job */
    unsigned idle;                  /* workers waiting for a job */
    struct copy_job *all;
    int stop;
    pthread_t *threads;
    unsigned nthreads;
};

static void
job_free(struct copy_job *j)
{
    if (j == NULL)
        return;
    free(j->account);
    free(j->container);
    free(j->blob);
    free(j->url);
    free(j->authorization);
    free(j->if_match);
    free(j->if_none_match);
    free(j->if_modified_since);
    free(j->if_unmodified_since);
    free(j);
}

/* Looks a job up by copy id; call with p->mu held. */
static struct copy_job *
job_find(struct copy_pool *p, const char *id)
{
    for (struct copy_job *j = p->all; j != NULL; j = j->next_all)
        if (strcasecmp(j->id, id) == 0)
            return j;
    return NULL;
}

/* 1 and the live progress of a running copy, or 0 when the pool does not know it. */
static int
copy_progress(struct copy_pool *p, const char *id, uint64_t *copied, uint64_t *total)
{
    struct copy_job *j;
    int found = 0;

    if (p == NULL)
        return 0;
    pthread_mutex_lock(&p->mu);
    if ((j = job_find(p, id)) != NULL) {
        *copied = __atomic_load_n(&j->copied, __ATOMIC_RELAXED);
        *total = __atomic_load_n(&j->total, __ATOMIC_RELAXED);
        found = 1;
    }
    pthread_mutex_unlock(&p->mu);
    return found;
}

static void
copy_cancel(struct copy_pool *p, const char *id)
{
    struct copy_job *j;

    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    if ((j = job_find(p, id)) != NULL)
        __atomic_store_n(&j->cancel, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&p->mu);
}

/* P1: takes a place in account a's queue for a job about to be committed.  0, or -1 when the
 * queue is full.  The place is used by enqueue or given back by unadmit. */
static int
admit(struct copy_pool *p, unsigned a)
{
    int rc = -1;

    pthread_mutex_lock(&p->mu);
    if (p->acct[a].queued < p->srv->copy_queue_max) {
        p->acct[a].queued++;
        rc = 0;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

static void
unadmit(struct copy_pool *p, unsigned a)
{
    pthread_mutex_lock(&p->mu);
    p->acct[a].queued--;
    pthread_mutex_unlock(&p->mu);
}

static void
enqueue(struct copy_pool *p, struct copy_job *j)
{
    struct acct_jobs *q = &p->acct[j->acct];

    pthread_mutex_lock(&p->mu);
    j->next_all = p->all;
    p->all = j;
    if (q->tail != NULL)
        q->tail->next_q = j;
    else
        q->head = j;
    q->tail = j;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/*
 * The job the calling worker starts now, or NULL; call with p->mu held.  Accounts are tried
 * round-robin from p->rr.  P2: an account that runs a job already may start another only if,
 * the caller taken, a worker stays idle for every other account that runs none.  When stopping,
 * any job (each is failed at once).
 */
static struct copy_job *
next_job(struct copy_pool *p)
{
    unsigned none_running = 0;

    for (size_t i = 0; i < p->nacct; i++)
        none_running += p->acct[i].running == 0;
    for (size_t n = 0; n < p->nacct; n++) {
        size_t a = (p->rr + n) % p->nacct;
        struct acct_jobs *q = &p->acct[a];
        struct copy_job *j = q->head;
        if (j == NULL || !(p->stop || q->running == 0 || p->idle >= none_running))
            continue;
        if ((q->head = j->next_q) == NULL)
            q->tail = NULL;
        q->queued--;
        q->running++;
        p->rr = (a + 1) % p->nacct;
        return j;
    }
    return NULL;
}

static void
forget(struct copy_pool *p, struct copy_job *j)
{
    pthread_mutex_lock(&p->mu);
    for (struct copy_job **pp = &p->all; *pp != NULL; pp = &(*pp)->next_all)
        if (*pp == j) {
            *pp = j->next_all;
            break;
        }
    pthread_mutex_unlock(&p->mu);
}

/* Deletes the marker of (cid, name) in t if it still belongs to copy `id` (C1). */
static int
drop_marker(struct meta *m, struct arena *a, struct meta_txn *t, uint64_t cid, const char *name,
            size_t nlen, const char *id)
{
    struct buf k = BUF_INIT;
    char *v;
    size_t vl;
    int rc;

    meta_key_copy_pending(&k, cid, name, nlen);
    if (!buf_ok(&k)) {
        buf_free(&k);
        return META_EIO;
    }
    rc = meta_get(m, k.p, k.len, a, &v, &vl);
    if (rc == 0 && vl == strlen(id) && strncasecmp(v, id, vl) == 0)
        meta_txn_delete(t, k.p, k.len);
    buf_free(&k);
    return rc == META_EIO ? META_EIO : 0;
}

static int
put_record(struct meta_txn *t, uint64_t cid, const char *name, size_t nlen,
           const struct blob_rec *r)
{
    struct buf k = BUF_INIT, v = BUF_INIT;
    int ok;

    meta_key_blob(&k, cid, name, nlen);
    meta_blob_encode(r, &v);
    ok = buf_ok(&k) && buf_ok(&v);
    if (ok)
        meta_txn_put(t, k.p, k.len, v.p, v.len);
    buf_free(&k);
    buf_free(&v);
    return ok ? 0 : META_EIO;
}

/*
 * Ends a copy: under the destination's locks, if it is still pending with this job's id (C2),
 * commit the fetched content (rc == FETCH_OK) or the failure.  Returns 1 when the needles in res
 * are now referenced, else 0.
 */
static int
job_finish(struct copy_pool *p, struct copy_job *j, int rc, struct fetch_result *res,
           struct arena *a)
{
    struct meta *m = p->srv->meta;
    struct meta_txn *t = NULL;
    struct blob_rec r;
    unsigned stripe;
    int got, used = 0, err = 0;

    meta_containers_rdlock(m);
    if (!meta_container_current(m, a, j->account, j->container, j->cid)) {
        meta_containers_unlock(m);
        return 0;   /* the container is gone, with its records; the marker is dropped at start-up */
    }
    stripe = meta_blob_lock(m, j->cid, j->blob, j->blob_len);
    got = meta_blob_get(m, a, j->cid, j->blob, j->blob_len, &r);
    if ((t = meta_txn_new()) == NULL) {
        err = ENOMEM;
        goto out;
    }
    if (got == 0 && r.copy.status == COPY_PENDING && strcasecmp(r.copy.id, j->id) == 0) {
        int64_t now = ticks_now();
        if (rc == FETCH_OK) {
            struct block_ref *b = res->next ? arena_calloc(a, sizeof(*b) * res->next) : NULL;
            if (res->next && b == NULL) {
                err = ENOMEM;
                goto out;
            }
            for (size_t i = 0; i < res->next; i++)
                b[i] = (struct block_ref){"", 0, res->ext[i]};
            r.blocks = b;
            r.nblocks = res->next;
            r.size = res->size;
            r.content_type = res->content_type ? res->content_type : "";
            r.content_encoding = res->content_encoding ? res->content_encoding : "";
            r.content_language = res->content_language ? res->content_language : "";
            r.content_disposition = res->content_disposition ? res->content_disposition : "";
            r.cache_control = res->cache_control ? res->cache_control : "";
            memcpy(r.md5, res->has_content_md5 ? res->content_md5 : res->md5, 16);
            r.flags |= BLOB_F_MD5;
            if (j->meta_from_source) {
                r.nmeta = res->nmeta;
                r.meta = res->meta;
            }
            r.copy.status = COPY_SUCCESS;
            r.copy.copied = r.copy.total = res->size;
            r.copy.description = "";
        } else {
            r.copy.status = COPY_FAILED;
            r.copy.copied = res->size;
            r.copy.total = __atomic_load_n(&j->total, __ATOMIC_RELAXED);
            r.copy.description = arena_strdup(a, res->message[0] ? res->message : "copy failed");
            if (r.copy.description == NULL)
                r.copy.description = "copy failed";
        }
        r.copy.completed = now;
        r.modified = now;
        r.etag = meta_next_etag(m);
        if (put_record(t, j->cid, j->blob, j->blob_len, &r) != 0) {
            err = ENOMEM;
            goto out;
        }
        used = rc == FETCH_OK;
    }
    if (drop_marker(m, a, t, j->cid, j->blob, j->blob_len, j->id) != 0 ||
        meta_commit(m, t) != 0) {
        err = EIO;
        used = 0;
    }
out:
    if (err != 0)
        log_error("copy %s into %s/%s: cannot record its end: %s", j->id, j->container, j->blob,
                  strerror(err));
    meta_txn_free(t);
    meta_blob_unlock(m, stripe);
    meta_containers_unlock(m);
    return used;
}

static void
job_run(struct copy_pool *p, struct copy_job *j)
{
    struct store *s = p->srv->store;
    struct arena *a = arena_new(JOB_ARENA);
    struct fetch_result res;
    struct fetch_req fr = {0};
    int rc, err;

    memset(&res, 0, sizeof(res));
    if (a == NULL) {
        log_error("copy %s: out of memory", j->id);
        return;
    }
    fr.url = j->url;
    fr.authorization = j->authorization;
    fr.if_match = j->if_match;
    fr.if_none_match = j->if_none_match;
    fr.if_modified_since = j->if_modified_since;
    fr.if_unmodified_since = j->if_unmodified_since;
    fr.seg_max = ASYNC_SEGMENT;
    fr.max_size = ASYNC_MAX;
    fr.stall_secs = p->srv->copy_stall_secs;
    fr.max_secs = COPY_DEADLINE;
    fr.egress = p->srv->egress;
    fr.cancel = &j->cancel;
    fr.progress = &j->copied;
    fr.total = &j->total;
    rc = fetch_into_store(s, a, &fr, &res);
    if (rc == FETCH_CANCELLED && __atomic_load_n(&p->stop, __ATOMIC_RELAXED))
        snprintf(res.message, sizeof(res.message),
                 "Cobalt shut down before the copy finished; start the copy again");
    if (rc == FETCH_OK && (err = store_sync(s, res.ext, res.next)) != 0) {   /* V2 */
        rc = FETCH_STORE;
        snprintf(res.message, sizeof(res.message), "storing the copy failed: %s", strerror(err));
    }
    if (rc != FETCH_OK)
        log_info("copy %s from %.*s failed: %s%s%s", j->id, (int)strcspn(j->url, "?#"), j->url,
                 res.message, res.detail[0] ? ": " : "", res.detail);
    job_finish(p, j, rc, &res, a);
    fetch_result_release(s, &res);   /* referenced now, or garbage for good */
    arena_free(a);
}

static void *
worker(void *arg)
{
    struct copy_pool *p = arg;

    pthread_mutex_lock(&p->mu);
    for (;;) {
        struct copy_job *j = next_job(p);
        if (j == NULL) {
            if (p->stop) {   /* stopping, nothing left */
                pthread_mutex_unlock(&p->mu);
                return NULL;
            }
            p->idle++;
            pthread_cond_wait(&p->cv, &p->mu);
            p->idle--;
            continue;
        }
        if (p->stop)
            __atomic_store_n(&j->cancel, 1, __ATOMIC_RELAXED);   /* fail it without fetching */
        pthread_mutex_unlock(&p->mu);
        job_run(p, j);
        forget(p, j);
        pthread_mutex_lock(&p->mu);
        p->acct[j->acct].running--;
        pthread_cond_broadcast(&p->cv);   /* P2: a job held back may start now */
        job_free(j);
    }
}

/* C3: every copy a crash left pending becomes failed. */
static int
recover_pending(struct server *srv)
{
    static const char lo[1] = {META_COPY_MARK}, hi[1] = {META_COPY_MARK + 1};
    struct meta_iter *it = meta_iter_new(srv->meta, lo, 1, hi, 1);
    struct meta_txn *t = meta_txn_new();
    struct arena *a = arena_new(JOB_ARENA);
    unsigned n = 0;
    int rc = 0;

    if (it == NULL || t == NULL || a == NULL) {
        rc = ENOMEM;
        goto out;
    }
    for (; meta_iter_valid(it); meta_iter_next(it)) {
        size_t kl, vl;
        const char *k = meta_iter_key(it, &kl), *v = meta_iter_value(it, &vl);
        struct blob_rec r;
        uint64_t cid;

        if (kl < 9)
            continue;
        cid = get_be64(k + 1);
        if (meta_blob_get(srv->meta, a, cid, k + 9, kl - 9, &r) == 0 &&
            r.copy.status == COPY_PENDING && strlen(r.copy.id) == vl &&
            strncasecmp(r.copy.id, v, vl) == 0) {
            r.copy.status = COPY_FAILED;
            r.copy.completed = ticks_now();
            r.copy.description = "Cobalt restarted while the copy was in progress; start the copy "
                                 "again";
            r.modified = r.copy.completed;
            r.etag = meta_next_etag(srv->meta);
            if (put_record(t, cid, k + 9, kl - 9, &r) != 0) {
                rc = ENOMEM;
                goto out;
            }
            n++;
        }
        meta_txn_delete(t, k, kl);
    }
    if (meta_iter_status(it) != 0 || meta_commit(srv->meta, t) != 0)
        rc = EIO;
    else if (n > 0)
        log_warn("copy: %u cop%s interrupted by a restart marked failed", n, n == 1 ? "y" : "ies");
out:
    meta_iter_free(it);
    meta_txn_free(t);
    arena_free(a);
    return rc;
}

int
copy_pool_start(struct server *srv)
{
    struct copy_pool *p;
    unsigned n;
    int rc;

    if (fetch_global_init() != 0)
        return ENOMEM;
    if ((rc = recover_pending(srv)) != 0)
        return rc;
    if ((p = calloc(1, sizeof(*p))) == NULL)
        return ENOMEM;
    p->srv = srv;
    p->nacct = srv->naccounts;
    n = srv->naccounts > COPY_THREADS ? (unsigned)srv->naccounts : COPY_THREADS;
    if (n > COPY_THREADS_MAX)
        n = COPY_THREADS_MAX;
    if ((p->acct = calloc(p->nacct, sizeof(*p->acct))) == NULL ||
        (p->threads = calloc(n, sizeof(*p->threads))) == NULL) {
        free(p->acct);
        free(p);
        return ENOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (unsigned i = 0; i < n; i++) {
        if ((rc = pthread_create(&p->threads[i], NULL, worker, p)) != 0)
            break;
        p->nthreads++;
    }
    srv->copies = p;
    if (p->nthreads == 0) {
        copy_pool_stop(srv);
        return rc;
    }
    return 0;
}

void
copy_pool_stop(struct server *srv)
{
    struct copy_pool *p = srv->copies;

    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    __atomic_store_n(&p->stop, 1, __ATOMIC_RELAXED);
    for (struct copy_job *j = p->all; j != NULL; j = j->next_all)
        __atomic_store_n(&j->cancel, 1, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++)   /* they drain the queue, failing each job */
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    srv->copies = NULL;
    free(p->threads);
    free(p->acct);
    free(p);
}

/* ---- copy properties on reads and listings ------------------------------------------------ */

static const char *const status_names[] = {"", "pending", "success", "failed", "aborted"};

void
api_copy_headers(struct api_req *q, const struct copy_rec *c)
{
    uint64_t copied = c->copied, total = c->total;
    char prog[48];

    if (c->status == COPY_NONE || c->status > COPY_ABORTED)
        return;
    if (c->status == COPY_PENDING)
        copy_progress(q->srv->copies, c->id, &copied, &total);
    snprintf(prog, sizeof(prog), "%llu/%llu", (unsigned long long)copied,
             (unsigned long long)total);
    api_hdr(q, "x-ms-copy-id", c->id);
    api_hdr(q, "x-ms-copy-source", c->source ? c->source : "");
    api_hdr(q, "x-ms-copy-status", status_names[c->status]);
    api_hdr(q, "x-ms-copy-progress", prog);
    if (c->completed != 0)
        api_hdr_time(q, "x-ms-copy-completion-time", c->completed);
    if (c->description != NULL && c->description[0])
        api_hdr(q, "x-ms-copy-status-description", c->description);
}

void
api_xml_copy(struct buf *b, const struct copy_rec *c)
{
    uint64_t copied = c->copied, total = c->total;
    char t[30];

    if (c->status == COPY_NONE || c->status > COPY_ABORTED)
        return;
    xml_elem(b, "CopyId", c->id);
    xml_elem(b, "CopyStatus", status_names[c->status]);
    xml_elem(b, "CopySource", c->source ? c->source : "");
    buf_printf(b, "<CopyProgress>%llu/%llu</CopyProgress>", (unsigned long long)copied,
               (unsigned long long)total);
    if (c->completed != 0) {
        fmt_rfc1123(c->completed, t);
        xml_elem(b, "CopyCompletionTime", t);
    }
    if (c->description != NULL && c->description[0])
        xml_elem(b, "CopyStatusDescription", c->description);
}

/* ---- the source URL ------------------------------------------------------------------------ */

struct src_url {
    const char *url;                  /* as sent (with any SAS): what an external fetch GETs */
    int https;
    const char *authority;            /* host[:port] as written */
    const char *host;                 /* without brackets or port */
    int port;
    const char *raw_path;             /* "/account/container/blob", encoding kept */
    struct auth_kv *query;            /* raw query parameters */
    size_t nquery;
    int has_sas;
    const char *account, *container;  /* decoded, NULL when absent */
    const char *blob;
    size_t blob_len;
    const char *snapshot, *versionid; /* decoded query values, NULL when absent */
    const char *display;              /* the URL without SAS parameters (x-ms-copy-source) */
};

static int
is_sas_param(const char *name, size_t n)
{
    static const char *const sas[] = {
        "sv",    "ss",    "srt",   "sp",   "se",   "st",   "spr",  "sip",  "sig",  "sr",
        "si",    "sdd",   "skoid", "sktid", "skt", "ske",  "sks",  "skv",  "saoid", "suoid",
        "scid",  "ses",   "rscc",  "rscd", "rsce", "rscl", "rsct", NULL};

    for (const char *const *p = sas; *p; p++)
        if (strlen(*p) == n && strncasecmp(name, *p, n) == 0)
            return 1;
    return 0;
}

/* Splits the copy-source URL.  0, or -1 with 400 InvalidHeaderValue described. */
static int
parse_source(struct api_req *q, struct src_url *u)
{
    const char *s = api_header(q, "x-ms-copy-source"), *p, *auth_end, *path_end, *qs;
    struct buf disp = BUF_INIT;
    size_t plen, n, cap;
    char *colon;
    int kept = 0;

    memset(u, 0, sizeof(*u));
    u->url = s;
    if (s == NULL)
        return api_fail_header(q, E_MissingRequiredHeader, "x-ms-copy-source", NULL);
    if (!header_text_valid(s, strlen(s)))   /* stored, echoed as a header and in listings */
        return api_fail_header(q, E_InvalidHeaderValue, "x-ms-copy-source", NULL);
    if (strncasecmp(s, "https://", 8) == 0)
        u->https = 1, p = s + 8;
    else if (strncasecmp(s, "http://", 7) == 0)
        p = s + 7;
    else
        return api_fail_header(q, E_InvalidHeaderValue, "x-ms-copy-source", s);
    auth_end = p + strcspn(p, "/?#");
    if (auth_end == p || memchr(p, '@', (size_t)(auth_end - p)) != NULL)
        return api_fail_header(q, E_InvalidHeaderValue, "x-ms-copy-source", s);
    u->authority = arena_strndup(q->a, p, (size_t)(auth_end - p));
    u->port = u->https ? 443 : 80;
    if (u->authority == NULL)
        return api_fail(q, E_InternalError);
    if (u->authority[0] == '[') {
        char *rb = strchr(u->authority, ']');
        if (rb == NULL)
            return api_fail_header(q, E_InvalidHeaderValue, "x-ms-copy-source", s);
        u->host = arena_strndup(q->a, u->authority + 1, (size_t)(rb - u->authority - 1));
        colon = rb[1] == ':' ? rb + 1 : NULL;
    } else {
        colon = strchr(u->authority, ':');
        u->host = colon ? arena_strndup(q->a, u->authority, (size_t)(colon - u->authority))
                        : u->authority;
    }
    if (u->host == NULL)
        return api_fail(q, E_InternalError);
    if (colon != NULL) {
        char *end;
        long port = strtol(colon + 1, &end, 10);
        if (*end != '\0' || port <= 0 || port > 65535)
            return api_fail_header(q, E_InvalidHeaderValue, "x-ms-copy-source", s);
        u->port = (int)port;
    }
    path_end = auth_end + strcspn(auth_end, "?#");
    u->raw_path = path_end > auth_end ? arena_strndup(q->a, auth_end, (size_t)(path_end - auth_end))
                                      : "/";
    if (u->raw_path == NULL)
        return api_fail(q, E_InternalError);
    /* Path segments: /account/container/blob... (path-style, §1.1). */
    {
        const char *seg = u->raw_path + 1, *sl = strchr(seg, '/');
        size_t dl;
        char *d;
        if (*seg != '\0') {
            n = sl ? (size_t)(sl - seg) : strlen(seg);
            u->account = pct_decode(q->a, seg, n, &dl);
            if (sl != NULL && sl[1] != '\0') {
                const char *seg2 = sl + 1, *sl2 = strchr(seg2, '/');
                n = sl2 ? (size_t)(sl2 - seg2) : strlen(seg2);
                u->container = pct_decode(q->a, seg2, n, &dl);
                if (sl2 != NULL && sl2[1] != '\0' &&
                    (d = pct_decode(q->a, sl2 + 1, strlen(sl2 + 1), &dl)) != NULL) {
                    for (size_t i = 0; i < dl; i++)
                        if (d[i] == '\\')
                            d[i] = '/';
                    u->blob = d;
                    u->blob_len = dl;
                }
            }
        }
    }
    /* Query: raw pairs for SAS validation; the display URL keeps the non-SAS ones. */
    buf_puts(&disp, u->https ? "https://" : "http://");
    buf_puts(&disp, u->authority);
    buf_puts(&disp, u->raw_path);
    qs = *path_end == '?' ? path_end + 1 : NULL;
    plen = qs ? strcspn(qs, "#") : 0;
    cap = 1;
    for (size_t i = 0; i < plen; i++)
        cap += qs[i] == '&';
    if ((u->query = arena_alloc(q->a, sizeof(*u->query) * cap)) == NULL) {
        buf_free(&disp);
        return api_fail(q, E_InternalError);
    }
    for (const char *it = qs, *end = qs ? qs + plen : NULL; it != NULL && it < end;) {
        const char *amp = memchr(it, '&', (size_t)(end - it)), *e = amp ? amp : end;
        const char *eq = memchr(it, '=', (size_t)(e - it)), *ne = eq ? eq : e;
        size_t dl;
        if (e > it) {
            struct auth_kv *kv = &u->query[u->nquery++];
            kv->name = arena_strndup(q->a, it, (size_t)(ne - it));
            kv->value = eq ? arena_strndup(q->a, eq + 1, (size_t)(e - eq - 1)) : "";
            if (kv->name == NULL || kv->value == NULL) {
                buf_free(&disp);
                return api_fail(q, E_InternalError);
            }
            if (strcasecmp(kv->name, "sig") == 0)
                u->has_sas = 1;
            else if (strcasecmp(kv->name, "snapshot") == 0)
                u->snapshot = pct_decode(q->a, kv->value, strlen(kv->value), &dl);
            else if (strcasecmp(kv->name, "versionid") == 0)
                u->versionid = pct_decode(q->a, kv->value, strlen(kv->value), &dl);
            if (!is_sas_param(it, (size_t)(ne - it))) {
                buf_putc(&disp, kept++ ? '&' : '?');
                buf_add(&disp, it, (size_t)(e - it));
            }
        }
        it = amp ? amp + 1 : end;
    }
    u->display = buf_ok(&disp) && disp.p ? arena_strndup(q->a, disp.p, disp.len) : NULL;
    buf_free(&disp);
    if (u->display == NULL)
        return api_fail(q, E_InternalError);
    return 0;
}

static int
is_loopback(const char *host)
{
    return strcasecmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
           strcmp(host, "::1") == 0;
}

/* 1 when the URL names this server (then it is never fetched over HTTP). */
static int
is_local(struct api_req *q, const struct src_url *u)
{
    const char *host = api_header(q, "Host");
    int port = __atomic_load_n(&q->srv->port, __ATOMIC_RELAXED);

    if (host != NULL && strcasecmp(host, u->authority) == 0)
        return 1;
    return port != 0 && u->port == port && is_loopback(u->host);
}

/* ---- local sources --------------------------------------------------------------------- */

struct local_src {
    const struct auth_account *acct;
    struct container_rec cont;
};

/* Describes a source error: status as the source would have answered (§2.11), with
 * x-ms-copy-source-status-code / -error-code, code CannotVerifyCopySource. */
static int
fail_source(struct api_req *q, int status, const char *source_code)
{
    char st[8];

    api_fail(q, E_CannotVerifyCopySource);
    http_resp_status(q->h, status);   /* the same body, with the source's status */
    snprintf(st, sizeof(st), "%d", status);
    api_hdr(q, "x-ms-copy-source-status-code", st);
    if (source_code != NULL)
        api_hdr(q, "x-ms-copy-source-error-code", source_code);
    return -1;
}

/*
 * A SAS is checked against the scheme its source is read over (spr).  An external source with an
 * https-only SAS (spr without the "http" token) named with http:// is refused before anything is
 * sent, so the token never travels in clear: 403 with the code the source itself would answer.
 * (fetch.c keeps an https source on https through redirects; local sources: local_open.)
 * 0, or -1 described.
 */
static int
external_scheme_check(struct api_req *q, const struct src_url *u)
{
    const char *raw = NULL, *spr, *t;
    size_t dl = 0, n;

    if (u->https || !u->has_sas)
        return 0;
    for (size_t i = 0; i < u->nquery; i++)
        if (strcasecmp(u->query[i].name, "spr") == 0)
            raw = u->query[i].value;
    if (raw == NULL)
        return 0;
    /* An undecodable spr is not known to allow http: refused too. */
    spr = pct_decode(q->a, raw, strlen(raw), &dl);
    for (t = spr; spr != NULL && dl == strlen(spr); t += n + 1) {
        n = strcspn(t, ",");
        if (n == 4 && strncmp(t, "http", 4) == 0)
            return 0;
        if (t[n] == '\0')
            break;
    }
    return fail_source(q, 403, "AuthorizationProtocolMismatch");
}

/* Finds the source's account and container and checks the caller may read it.  0 or -1. */
static int
local_open(struct api_req *q, const struct src_url *u, struct local_src *ls)
{
    struct auth_request ar = {0};
    struct auth_result res = {0};
    struct auth_need need = {AUTH_LEVEL_OBJECT, "r", AUTH_SCOPE_BLOB | AUTH_SCOPE_CONTAINER,
                             AUTH_PUBLIC_BLOB};
    enum auth_public pub;
    int rc;

    memset(ls, 0, sizeof(*ls));
    for (size_t i = 0; u->account != NULL && i < q->srv->naccounts; i++)
        if (strcmp(q->srv->accounts[i].name, u->account) == 0)
            ls->acct = &q->srv->accounts[i];
    if (ls->acct == NULL || u->container == NULL || u->blob == NULL)
        return fail_source(q, 404, ls->acct == NULL ? "ResourceNotFound" : "InvalidUri");
    if (container_name_check(u->container, strlen(u->container)) != NAME_OK ||
        blob_name_check(u->blob, u->blob_len) != NAME_OK)
        return fail_source(q, 400, "InvalidResourceName");
    rc = meta_container_get(q->srv->meta, q->a, u->account, u->container, &ls->cont);
    if (rc == META_EIO)
        return api_fail_io(q, rc);
    pub = rc != 0                                   ? AUTH_PUBLIC_NONE
          : ls->cont.public_access == PUBLIC_CONTAINER ? AUTH_PUBLIC_CONTAINER
          : ls->cont.public_access == PUBLIC_BLOB      ? AUTH_PUBLIC_BLOB
                                                       : AUTH_PUBLIC_NONE;
    if (u->has_sas) {   /* a SAS is checked exactly as on a GET of the source */
        ar.method = "GET";
        ar.raw_path = u->raw_path;
        ar.query = u->query;
        ar.nquery = u->nquery;
        /* Read as a GET to this server would be: Cobalt serves plain HTTP only, so an https://
         * URL naming it does not make an https-only SAS (spr=https) valid. */
        ar.is_https = 0;
        ar.account = u->account;
        ar.container = u->container;
        ar.blob = u->blob;
        ar.snapshot = u->snapshot;
        ar.versionid = u->versionid;
        if (auth_authenticate(&ar, ls->acct, ticks_now() / TICKS_PER_SEC, q->a, &res) != 0 ||
            auth_authorize(&ar, &need, pub, &res) != 0)
            return fail_source(q, res.status ? res.status : 403,
                               res.code ? res.code : "AuthenticationFailed");
    } else if (!(q->auth.kind == AUTH_SHARED_KEY && strcmp(q->account, u->account) == 0) &&
               pub == AUTH_PUBLIC_NONE) {
        /* Shared Key callers read their own account; anyone reads public containers. */
        return fail_source(q, rc != 0 ? 404 : 403,
                           rc != 0 ? "ContainerNotFound" : "AuthorizationFailure");
    }
    if (rc != 0)
        return fail_source(q, 404, "ContainerNotFound");
    return 0;
}

/* Loads the source record (base blob, snapshot or version).  1 found, 0 not, -1 described. */
static int
local_load(struct api_req *q, const struct src_url *u, const struct local_src *ls,
           struct blob_rec *r)
{
    const char *sub = u->snapshot ? u->snapshot : u->versionid;
    struct buf k = BUF_INIT;
    int64_t id = 0;
    char *v;
    size_t vl;
    int rc;

    if (sub != NULL && parse_iso8601(sub, &id) != 0)
        return api_fail_header(q, E_InvalidHeaderValue, "x-ms-copy-source", u->url);
    if (sub != NULL) {
        meta_key_blob_sub(&k, ls->cont.id, u->blob, u->blob_len, u->snapshot ? 'S' : 'V', id);
        rc = buf_ok(&k) ? meta_get(q->srv->meta, k.p, k.len, q->a, &v, &vl) : META_EIO;
        buf_free(&k);
        if (rc == 0)
            rc = meta_blob_decode(q->a, v, vl, r) == 0 ? 0 : META_EIO;
        if (rc == META_EIO)
            return api_fail_io(q, rc);
        if (rc == 0)
            return r->deleted == 0;
        if (u->snapshot != NULL)
            return 0;
        /* A version id may name the current version, which lives under the base key. */
    }
    rc = meta_blob_get(q->srv->meta, q->a, ls->cont.id, u->blob, u->blob_len, r);
    if (rc == META_NOTFOUND)
        return 0;
    if (rc != 0)
        return api_fail_io(q, rc);
    if ((r->flags & BLOB_F_UNCOMMITTED) || r->deleted != 0)
        return 0;
    return u->versionid == NULL || r->version_id == id;
}

/* x-ms-source-if-* and x-ms-source-lease-id against the source record (§5.1): 0, or -1 (412). */
static int
source_conditions(struct api_req *q, const struct src_url *u, const struct blob_rec *r)
{
    const char *im = api_header(q, "x-ms-source-if-match");
    const char *inm = api_header(q, "x-ms-source-if-none-match");
    const char *ims = api_header(q, "x-ms-source-if-modified-since");
    const char *ius = api_header(q, "x-ms-source-if-unmodified-since");
    const char *tags = api_header(q, "x-ms-source-if-tags");
    const char *lease = api_header(q, "x-ms-source-lease-id"), *why = NULL;
    int64_t t, mod_s = r->modified / TICKS_PER_SEC;
    struct tagexpr *e;

    if (im != NULL && !api_etag_matches(im, r->etag))
        return api_fail(q, E_SourceConditionNotMet);
    if (ius != NULL && parse_http_date(ius, &t) == 0 && mod_s > t / TICKS_PER_SEC)
        return api_fail(q, E_SourceConditionNotMet);
    if (inm != NULL && api_etag_matches(inm, r->etag))
        return api_fail(q, E_SourceConditionNotMet);
    if (ims != NULL && parse_http_date(ims, &t) == 0 && mod_s <= t / TICKS_PER_SEC)
        return api_fail(q, E_SourceConditionNotMet);
    if (tags != NULL) {
        if ((e = tagexpr_parse(q->a, tags, TAGEXPR_IF_TAGS, &why)) == NULL)
            return api_fail_header(q, E_InvalidHeaderValue, "x-ms-source-if-tags", tags);
        if (!tagexpr_eval(e, r->ntags, r->tags, u->container))
            return api_fail(q, E_SourceConditionNotMet);
    }
    if (lease != NULL) {
        uint8_t st = lease_effective(&r->lease, ticks_now());
        if (st != LEASE_LEASED && st != LEASE_BREAKING)
            return api_fail(q, E_LeaseNotPresentWithBlobOperation);
        if (strcasecmp(lease, r->lease.id) != 0)
            return api_fail(q, E_LeaseIdMismatchWithBlobOperation);
    }
    return 0;
}

/* Reads [off, off + len) of a record's content, feeding a needle writer and/or hashes. */
static int
local_read(struct api_req *q, const struct blob_rec *r, uint64_t off, uint64_t len,
           struct needle_writer *w, MD5_CTX *md5, uint64_t *crc)
{
    struct store_reader *rd = NULL;
    char *buf = malloc(READ_BUF);
    uint64_t at = 0;
    int err = 0;

    if (buf == NULL || store_reader_new(q->srv->store, &rd) != 0) {
        err = ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < r->nblocks && len > 0; i++) {
        struct extent e = r->blocks[i].ext;
        uint64_t in = 0;
        if (at + e.len <= off) {
            at += e.len;
            continue;
        }
        in = off > at ? off - at : 0;
        while (in < e.len && len > 0) {
            size_t want = e.len - in < READ_BUF ? (size_t)(e.len - in) : READ_BUF;
            long n;
            if (want > len)
                want = (size_t)len;
            n = store_reader_read(rd, &e, in, buf, want);
            /* -ENOENT: compaction retired the volume; the needle lives where 'N' says. */
            if (n == -ENOENT && meta_needle_moved(q->srv->meta, e.seq, &e) == 0)
                n = store_reader_read(rd, &e, in, buf, want);
            if (n <= 0) {
                err = n < 0 ? (int)-n : EIO;
                goto out;
            }
            if (md5 != NULL)
                MD5_Update(md5, buf, (size_t)n);
            if (crc != NULL)
                *crc = crc64_nvme(*crc, buf, (size_t)n);
            if (w != NULL && (err = store_write(w, buf, (size_t)n)) != 0)
                goto out;
            in += (uint64_t)n;
            len -= (uint64_t)n;
        }
        at += e.len;
    }
    if (len > 0)
        err = EIO;   /* the record holds fewer bytes than its size says */
out:
    store_reader_free(rd);
    free(buf);
    return err;
}

/* x-ms-source-content-md5 / -crc64 against computed values: 0, or -1 (400 described). */
static int
verify_source_checksums(struct api_req *q, const unsigned char md5[16], uint64_t crc)
{
    const char *want_md5 = api_header(q, "x-ms-source-content-md5");
    const char *want_crc = api_header(q, "x-ms-source-content-crc64");
    unsigned char w[16], le[8];

    if (want_md5 != NULL) {
        if (base64_decode(want_md5, strlen(want_md5), w) != 16)
            return api_fail_header(q, E_InvalidMd5, "x-ms-source-content-md5", want_md5);
        if (memcmp(w, md5, 16) != 0)
            return api_fail(q, E_Md5Mismatch);
    }
    if (want_crc != NULL) {
        crc64_to_le(crc, le);
        if (strlen(want_crc) != 12 || base64_decode(want_crc, 12, w) != 8)
            return api_fail_header(q, E_InvalidHeaderValue, "x-ms-source-content-crc64", want_crc);
        if (memcmp(w, le, 8) != 0)
            return api_fail(q, E_Crc64Mismatch);
    }
    return 0;
}

static int
wants_source_checksum(struct api_req *q)
{
    return api_header(q, "x-ms-source-content-md5") != NULL ||
           api_header(q, "x-ms-source-content-crc64") != NULL;
}

/* ---- locks ------------------------------------------------------------------------------ */

struct pair_lock {
    unsigned first, second;
    int two;
};

/*
 * The destination's and the source's stripe locks, taken in stripe order (no deadlock between
 * two copies in opposite directions), under the container lock (read) with both containers
 * still current (M3).  meta.h hands out a stripe's index only by taking it, so each index is
 * learnt first with one uncontended lock/unlock.  0, or -1 with 404 described (nothing held).
 */
static int
lock_pair(struct api_req *q, const struct src_url *u, const struct local_src *ls,
          struct pair_lock *pl)
{
    struct meta *m = q->srv->meta;
    unsigned d, s;

    meta_containers_rdlock(m);
    if (!meta_container_current(m, q->a, q->account, q->container, q->cont.id)) {
        meta_containers_unlock(m);
        return api_fail(q, E_ContainerNotFound);
    }
    if (!meta_container_current(m, q->a, u->account, u->container, ls->cont.id)) {
        meta_containers_unlock(m);
        return fail_source(q, 404, "ContainerNotFound");
    }
    d = meta_blob_lock(m, q->cont.id, q->blob, q->blob_len);
    meta_blob_unlock(m, d);
    s = meta_blob_lock(m, ls->cont.id, u->blob, u->blob_len);
    meta_blob_unlock(m, s);
    pl->two = d != s;
    if (!pl->two || d < s) {
        pl->first = meta_blob_lock(m, q->cont.id, q->blob, q->blob_len);
        if (pl->two)
            pl->second = meta_blob_lock(m, ls->cont.id, u->blob, u->blob_len);
    } else {
        pl->first = meta_blob_lock(m, ls->cont.id, u->blob, u->blob_len);
        pl->second = meta_blob_lock(m, q->cont.id, q->blob, q->blob_len);
    }
    return 0;
}

static void
unlock_pair(struct api_req *q, const struct pair_lock *pl)
{
    if (pl->two)
        meta_blob_unlock(q->srv->meta, pl->second);
    meta_blob_unlock(q->srv->meta, pl->first);
    meta_containers_unlock(q->srv->meta);
}

/* ---- the destination ---------------------------------------------------------------------- */

static int
truthy_default(const char *v, int dflt)
{
    if (v == NULL)
        return dflt;
    return strcasecmp(v, "false") != 0;
}

/* HTTP properties the request names explicitly override the ones taken from the source. */
static int
override_props(struct api_req *q, struct blob_rec *r)
{
    static const struct {
        const char *name;
        size_t off;
    } props[] = {
        {"x-ms-blob-content-type", offsetof(struct blob_rec, content_type)},
        {"x-ms-blob-content-encoding", offsetof(struct blob_rec, content_encoding)},
        {"x-ms-blob-content-language", offsetof(struct blob_rec, content_language)},
        {"x-ms-blob-content-disposition", offsetof(struct blob_rec, content_disposition)},
        {"x-ms-blob-cache-control", offsetof(struct blob_rec, cache_control)},
    };
    const char *md5 = api_header(q, "x-ms-blob-content-md5");

    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
        const char *v = api_header(q, props[i].name);
        if (v != NULL && !header_text_valid(v, strlen(v)))
            return api_fail_header(q, E_InvalidHeaderValue, props[i].name, NULL);
        if (v != NULL)
            *(const char **)((char *)r + props[i].off) = v;
    }
    if (md5 != NULL && *md5) {
        if (base64_decode(md5, strlen(md5), r->md5) != 16)
            return api_fail_header(q, E_InvalidMd5, "x-ms-blob-content-md5", md5);
        r->flags |= BLOB_F_MD5;
    }
    return 0;
}

/*
 * The new destination record from a source record `src` (a local record, or the description of
 * fetched content), per operation kind.  Request metadata (nmeta > 0) replaces the source's.
 */
static int
build_dest(struct api_req *q, enum copy_kind kind, const struct blob_rec *src, size_t nmeta,
           struct meta_pair *meta, const char *copy_id, const char *display, struct blob_rec *r)
{
    int64_t now = ticks_now();

    memset(r, 0, sizeof(*r));
    r->type = kind == K_PUT_FROM_URL ? BLOB_BLOCK : src->type;
    r->size = src->size;
    r->nblocks = src->nblocks;
    r->blocks = src->blocks;
    if (kind == K_PUT_FROM_URL && src->nblocks > 0) {
        /* Put Blob content has no committed block ids. */
        if ((r->blocks = arena_alloc(q->a, sizeof(*r->blocks) * src->nblocks)) == NULL)
            return api_fail(q, E_InternalError);
        for (size_t i = 0; i < src->nblocks; i++)
            r->blocks[i] = (struct block_ref){"", 0, src->blocks[i].ext};
    }
    r->content_type = r->content_encoding = r->content_language = r->content_disposition =
        r->cache_control = "";
    if (kind != K_PUT_FROM_URL ||
        truthy_default(api_header(q, "x-ms-copy-source-blob-properties"), 1)) {
        r->content_type = src->content_type;
        r->content_encoding = src->content_encoding;
        r->content_language = src->content_language;
        r->content_disposition = src->content_disposition;
        r->cache_control = src->cache_control;
        r->flags |= src->flags & BLOB_F_MD5;
        memcpy(r->md5, src->md5, 16);
    }
    /* A copied append blob is open for appends unless the copy seals it. */
    r->appends = r->type == BLOB_APPEND ? src->appends : 0;
    if (r->type == BLOB_APPEND && truthy_default(api_header(q, "x-ms-seal-blob"), 0))
        r->flags |= BLOB_F_SEALED;
    if (kind == K_PUT_FROM_URL) {
        if (override_props(q, r) != 0)
            return -1;
        r->nmeta = nmeta;
        r->meta = meta;
    } else {
        r->nmeta = nmeta > 0 ? nmeta : src->nmeta;
        r->meta = nmeta > 0 ? meta : src->meta;
        r->copy.status = COPY_SUCCESS;
        snprintf(r->copy.id, sizeof(r->copy.id), "%s", copy_id);
        r->copy.source = display;
        r->copy.copied = r->copy.total = src->size;
        r->copy.completed = now;
        r->copy.description = "";
    }
    /* Tags are never copied implicitly: x-ms-tags sets them, or x-ms-copy-source-tag-option:
     * COPY takes the source's (not with x-ms-tags); an overwritten destination loses its own. */
    {
        const char *opt = api_header(q, "x-ms-copy-source-tag-option");
        if (opt != NULL && strcasecmp(opt, "COPY") != 0 && strcasecmp(opt, "REPLACE") != 0)
            return api_fail_header(q, E_InvalidHeaderValue, "x-ms-copy-source-tag-option", opt);
        if (opt != NULL && strcasecmp(opt, "COPY") == 0) {
            if (api_header(q, "x-ms-tags") != NULL)
                return api_fail_header(q, E_InvalidHeaderValue, "x-ms-copy-source-tag-option", opt);
            r->ntags = src->ntags;
            r->tags = src->tags;
        } else if (api_read_tags_header(q, &r->ntags, &r->tags) != 0) {
            return -1;
        }
    }
    r->modified = now;
    return 0;
}

/*
 * Under the destination's lock: the write gate, the pending-copy rule, then one batch with the
 * new record (and the staged blocks dropped).  *old_size: content the commit made unreachable.
 * 0 or -1 (described).
 */
static int
commit_dest(struct api_req *q, enum copy_kind kind, struct blob_rec *r, const char *marker_id)
{
    struct blob_rec old;
    struct meta_txn *t = NULL;
    struct buf k = BUF_INIT;
    int exists, rc;

    if ((exists = api_blob_load(q, &old)) < 0 ||
        api_blob_write_gate(q, exists, &old, GATE_CREATE | GATE_CONTENT) != 0)
        return -1;
    if (exists && old.copy.status == COPY_PENDING && kind != K_PUT_FROM_URL)
        return api_fail(q, E_PendingCopyOperation);
    if (exists && !auth_may_overwrite(&q->auth))
        return api_fail(q, E_AuthorizationPermissionMismatch);
    r->created = exists ? old.created : r->modified;
    r->etag = meta_next_etag(q->srv->meta);
    if (exists)
        r->lease = old.lease;   /* replacing the content keeps the lease (its id was required) */
    if ((t = meta_txn_new()) == NULL)
        return api_fail(q, E_InternalError);
    /* Through api_blob_replace: a copy makes a new version, and keeps a soft-deleted blob it
     * replaces as a deleted snapshot, like any other write of content. */
    if (api_blob_replace(q, t, &old, r, 1) != 0 || api_drop_staged(q, t, &old) != 0 ||
        api_tags_reindex(q, t, q->cont.id, q->blob, q->blob_len, exists ? &old : NULL, r) != 0) {
        meta_txn_free(t);
        return -1;
    }
    if (marker_id != NULL) {   /* C1: pending exactly while the marker exists */
        meta_key_copy_pending(&k, q->cont.id, q->blob, q->blob_len);
        if (!buf_ok(&k)) {
            buf_free(&k);
            meta_txn_free(t);
            return api_fail(q, E_InternalError);
        }
        meta_txn_put(t, k.p, k.len, marker_id, strlen(marker_id));
        buf_free(&k);
    } else if (exists && old.copy.status == COPY_PENDING &&
               drop_marker(q->srv->meta, q->a, t, q->cont.id, q->blob, q->blob_len,
                           old.copy.id) != 0) {
        meta_txn_free(t);
        return api_fail_io(q, META_EIO);
    }
    rc = api_commit(q, t);
    if (rc == 0 && exists)
        api_freed(q, old.size);
    if (rc == 0 && exists && old.copy.status == COPY_PENDING)
        copy_cancel(q->srv->copies, old.copy.id);   /* a Put Blob From URL replaced it */
    return rc;
}

static void
respond_dest(struct api_req *q, enum copy_kind kind, const struct blob_rec *r,
             const unsigned char *content_md5, const char *crc_b64)
{
    api_status(q, kind == K_PUT_FROM_URL ? 201 : 202);
    api_hdr_etag(q, r->etag);
    api_hdr_time(q, "Last-Modified", r->modified);
    if (kind != K_PUT_FROM_URL) {
        api_hdr(q, "x-ms-copy-id", r->copy.id);
        api_hdr(q, "x-ms-copy-status", status_names[r->copy.status]);
    }
    if (kind != K_COPY && content_md5 != NULL)
        api_hdr_md5(q, "Content-MD5", content_md5);
    if (kind != K_COPY && crc_b64 != NULL)
        api_hdr(q, "x-ms-content-crc64", crc_b64);
    if (kind == K_PUT_FROM_URL)
        api_hdr(q, "x-ms-request-server-encrypted", "true");
}

static const char *
crc_header(struct api_req *q, uint64_t crc)
{
    unsigned char le[8];
    char *b64 = arena_alloc(q->a, BASE64_LEN(8) + 1);

    if (b64 == NULL || api_header(q, "x-ms-source-content-crc64") == NULL)
        return NULL;
    crc64_to_le(crc, le);
    base64_encode(le, 8, b64);
    return b64;
}

/* Whole-blob copy of a local source: metadata only (the needles are shared). */
static void
copy_local(struct api_req *q, enum copy_kind kind, const struct src_url *u, size_t nmeta,
           struct meta_pair *meta)
{
    struct local_src ls;
    struct blob_rec src, again, r;
    struct pair_lock pl = {0};
    unsigned char md5[16];
    uint64_t crc = 0;
    char id[37];
    int rc, verified = 0;

    if (local_open(q, u, &ls) != 0)
        return;
    for (int attempt = 0;; attempt++) {
        if ((rc = local_load(q, u, &ls, &src)) < 0)
            return;
        if (rc == 0) {
            fail_source(q, 404, "BlobNotFound");
            return;
        }
        if (source_conditions(q, u, &src) != 0)
            return;
        if (kind != K_COPY && src.type == BLOB_PAGE) {
            api_fail(q, E_InvalidSourceBlobType);
            return;
        }
        if (src.size > (kind == K_COPY_SYNC ? COPY_SYNC_MAX : kind == K_PUT_FROM_URL
                                                               ? PUT_FROM_URL_MAX
                                                               : UINT64_MAX)) {
            api_fail(q, E_RequestBodyTooLarge);
            return;
        }
        if (kind != K_COPY && wants_source_checksum(q)) {
            /* Checksums the client names are computed from the bytes (CRC32Cs verified too). */
            MD5_CTX c;
            int err;
            MD5_Init(&c);
            crc = 0;
            if ((err = local_read(q, &src, 0, src.size, NULL, &c, &crc)) != 0) {
                api_fail_io(q, err);
                return;
            }
            MD5_Final(md5, &c);
            if (verify_source_checksums(q, md5, crc) != 0)
                return;
            verified = 1;
        }
        if (lock_pair(q, u, &ls, &pl) != 0)
            return;
        /* Under the locks: the source must still be the record checked above. */
        if ((rc = local_load(q, u, &ls, &again)) == 1 && again.etag == src.etag)
            break;
        unlock_pair(q, &pl);
        if (rc < 0)
            return;
        if (attempt == 3) {
            api_fail(q, E_ServerBusy);
            return;
        }
    }
    api_new_guid(id);
    if (build_dest(q, kind, &again, nmeta, meta, id, u->display, &r) == 0 &&
        commit_dest(q, kind, &r, NULL) == 0) {
        const unsigned char *m = verified ? md5 : (r.flags & BLOB_F_MD5) ? r.md5 : NULL;
        respond_dest(q, kind, &r, m, verified ? crc_header(q, crc) : NULL);
    }
    unlock_pair(q, &pl);
}

/* A fetch that did not succeed, as the response of a synchronous operation. */
static void
fail_fetch(struct api_req *q, int rc, const struct fetch_result *res)
{
    switch (rc) {
    case FETCH_HTTP:
        if (res->status == 304 || res->status == 412)
            api_fail(q, E_SourceConditionNotMet);
        else
            fail_source(q, res->status >= 400 && res->status <= 599 ? res->status : 500,
                        res->error_code);
        return;
    case FETCH_STORE:
        api_fail_io(q, res->err);
        return;
    case FETCH_TOO_LARGE:
        api_fail(q, E_RequestBodyTooLarge);
        return;
    default:
        log_info("request %s: copy source: %s%s%s", q->request_id, res->message,
                 res->detail[0] ? ": " : "", res->detail);
        fail_source(q, 500, NULL);
        return;
    }
}

struct fetch_cleanup {
    struct store *s;
    struct fetch_result res;
};

static void
fetch_cleanup(void *p)
{
    struct fetch_cleanup *c = p;

    fetch_result_release(c->s, &c->res);
}

/*
 * Fetches an external source on the request's thread.  The needles are released when the request
 * ends (after the commit, V6).  Returns the result, or NULL with the response described.
 */
static struct fetch_result *
fetch_sync(struct api_req *q, const struct src_url *u, uint64_t max, int ranged, uint64_t start,
           uint64_t end)
{
    struct fetch_cleanup *c = arena_calloc(q->a, sizeof(*c));
    struct fetch_req fr = {0};
    int rc;

    if (c == NULL || arena_on_free(q->a, fetch_cleanup, c) != 0) {
        api_fail(q, E_InternalError);
        return NULL;
    }
    c->s = q->srv->store;
    fr.url = u->url;
    fr.authorization = api_header(q, "x-ms-copy-source-authorization");
    fr.if_match = api_header(q, "x-ms-source-if-match");
    fr.if_none_match = api_header(q, "x-ms-source-if-none-match");
    fr.if_modified_since = api_header(q, "x-ms-source-if-modified-since");
    fr.if_unmodified_since = api_header(q, "x-ms-source-if-unmodified-since");
    fr.max_size = max;
    fr.stall_secs = q->srv->copy_stall_secs;
    fr.egress = q->srv->egress;
    fr.ranged = ranged;
    fr.start = start;
    fr.end = end;
    rc = fetch_into_store(q->srv->store, q->a, &fr, &c->res);
    if (rc != FETCH_OK) {
        fail_fetch(q, rc, &c->res);
        return NULL;
    }
    if (verify_source_checksums(q, c->res.md5, c->res.crc64) != 0)
        return NULL;
    return &c->res;
}

/* Copy Blob From URL / Put Blob From URL of an external source: fetch, sync, commit. */
static void
copy_external_sync(struct api_req *q, enum copy_kind kind, const struct src_url *u, size_t nmeta,
                   struct meta_pair *meta)
{
    struct fetch_result *res;
    struct blob_rec src = {0}, r;
    unsigned stripe;
    char id[37];
    int err;

    res = fetch_sync(q, u, kind == K_COPY_SYNC ? COPY_SYNC_MAX : PUT_FROM_URL_MAX, 0, 0, 0);
    if (res == NULL)
        return;
    if ((err = store_sync(q->srv->store, res->ext, res->next)) != 0) {   /* V2 */
        api_fail_io(q, err);
        return;
    }
    src.type = BLOB_BLOCK;
    src.size = res->size;
    src.nblocks = res->next;
    if (res->next > 0 && (src.blocks = arena_calloc(q->a, sizeof(*src.blocks) * res->next)) == NULL) {
        api_fail(q, E_InternalError);
        return;
    }
    for (size_t i = 0; i < res->next; i++)
        src.blocks[i] = (struct block_ref){"", 0, res->ext[i]};
    src.content_type = res->content_type ? res->content_type : "";
    src.content_encoding = res->content_encoding ? res->content_encoding : "";
    src.content_language = res->content_language ? res->content_language : "";
    src.content_disposition = res->content_disposition ? res->content_disposition : "";
    src.cache_control = res->cache_control ? res->cache_control : "";
    memcpy(src.md5, res->has_content_md5 ? res->content_md5 : res->md5, 16);
    src.flags = BLOB_F_MD5;
    src.nmeta = res->nmeta;
    src.meta = res->meta;
    api_new_guid(id);
    if (build_dest(q, kind, &src, nmeta, meta, id, u->display, &r) != 0)
        return;
    if (api_blob_lock(q, &stripe) != 0)
        return;
    if (commit_dest(q, kind, &r, NULL) == 0)
        respond_dest(q, kind, &r, res->md5, crc_header(q, res->crc64));
    api_blob_unlock(q, stripe);
}

static char *
dup_or_null(const char *s, int *oom)
{
    char *d;

    if (s == NULL)
        return NULL;
    if ((d = strdup(s)) == NULL)
        *oom = 1;
    return d;
}

/* Copy Blob of an external source: a pending destination now, the content later (pool). */
static void
copy_external_async(struct api_req *q, const struct src_url *u, size_t nmeta,
                    struct meta_pair *meta)
{
    struct copy_job *j = calloc(1, sizeof(*j));
    struct blob_rec r = {0};
    unsigned stripe;
    int oom = 0;

    if (j == NULL || q->srv->copies == NULL) {
        free(j);
        api_fail(q, E_InternalError);
        return;
    }
    while (j->acct < q->srv->naccounts && strcmp(q->srv->accounts[j->acct].name, q->account) != 0)
        j->acct++;
    if (j->acct == q->srv->naccounts) {   /* (authentication named one of ours) */
        free(j);
        api_fail(q, E_InternalError);
        return;
    }
    api_new_guid(j->id);
    j->account = dup_or_null(q->account, &oom);
    j->container = dup_or_null(q->container, &oom);
    j->url = dup_or_null(u->url, &oom);
    j->authorization = dup_or_null(api_header(q, "x-ms-copy-source-authorization"), &oom);
    j->if_match = dup_or_null(api_header(q, "x-ms-source-if-match"), &oom);
    j->if_none_match = dup_or_null(api_header(q, "x-ms-source-if-none-match"), &oom);
    j->if_modified_since = dup_or_null(api_header(q, "x-ms-source-if-modified-since"), &oom);
    j->if_unmodified_since = dup_or_null(api_header(q, "x-ms-source-if-unmodified-since"), &oom);
    if ((j->blob = malloc(q->blob_len + 1)) != NULL) {
        memcpy(j->blob, q->blob, q->blob_len);
        j->blob[q->blob_len] = '\0';
    }
    j->blob_len = q->blob_len;
    j->cid = q->cont.id;
    j->meta_from_source = nmeta == 0;
    if (oom || j->blob == NULL) {
        job_free(j);
        api_fail(q, E_InternalError);
        return;
    }
    r.type = BLOB_BLOCK;
    r.content_type = r.content_encoding = r.content_language = r.content_disposition =
        r.cache_control = "";
    r.nmeta = nmeta;
    r.meta = meta;
    r.modified = ticks_now();
    r.copy.status = COPY_PENDING;
    snprintf(r.copy.id, sizeof(r.copy.id), "%s", j->id);
    r.copy.source = u->display;
    r.copy.description = "";
    if (admit(q->srv->copies, j->acct) != 0) {   /* P1 */
        job_free(j);
        api_fail(q, E_ServerBusy);
        return;
    }
    if (api_blob_lock(q, &stripe) != 0) {
        unadmit(q->srv->copies, j->acct);
        job_free(j);
        return;
    }
    if (commit_dest(q, K_COPY, &r, j->id) != 0) {
        unadmit(q->srv->copies, j->acct);
        job_free(j);
    } else {
        enqueue(q->srv->copies, j);   /* under the lock: an abort now finds the job (C2) */
        respond_dest(q, K_COPY, &r, NULL, NULL);
    }
    api_blob_unlock(q, stripe);
}

static void
copy_blob(struct api_req *q, enum copy_kind kind)
{
    struct src_url u;
    struct meta_pair *meta = NULL;
    size_t nmeta = 0;

    if (api_reject_snapshot_write(q) != 0 || parse_source(q, &u) != 0 ||
        api_read_metadata(q, &nmeta, &meta) != 0)
        return;
    if (is_local(q, &u))
        copy_local(q, kind, &u, nmeta, meta);
    else if (external_scheme_check(q, &u) != 0)
        return;
    else if (kind == K_COPY)
        copy_external_async(q, &u, nmeta, meta);
    else
        copy_external_sync(q, kind, &u, nmeta, meta);
}

void
op_copy_blob(struct api_req *q)
{
    copy_blob(q, K_COPY);
}

void
op_copy_blob_sync(struct api_req *q)
{
    copy_blob(q, K_COPY_SYNC);
}

void
op_put_blob_from_url(struct api_req *q)
{
    if (q->h->content_length != 0) {
        api_fail_header(q, E_InvalidHeaderValue, "Content-Length", "must be 0");
        return;
    }
    copy_blob(q, K_PUT_FROM_URL);
}

/* ---- Abort Copy Blob -------------------------------------------------------------------------- */

void
op_abort_copy(struct api_req *q)
{
    const char *id = api_query(q, "copyid"), *action = api_header(q, "x-ms-copy-action");
    struct blob_rec r;
    struct meta_txn *t = NULL;
    unsigned stripe;
    int exists;

    if (id == NULL) {
        api_fail_query(q, E_MissingRequiredQueryParameter, "copyid", NULL, "Required.");
        return;
    }
    if (action == NULL) {
        api_fail_header(q, E_MissingRequiredHeader, "x-ms-copy-action", NULL);
        return;
    }
    if (strcasecmp(action, "abort") != 0) {
        api_fail_header(q, E_InvalidHeaderValue, "x-ms-copy-action", action);
        return;
    }
    if (api_reject_snapshot_write(q) != 0 || api_blob_lock(q, &stripe) != 0)
        return;
    if ((exists = api_blob_load(q, &r)) < 0)
        goto out;
    if (!exists) {
        api_fail(q, E_BlobNotFound);
        goto out;
    }
    if (api_lease_check_blob(q, 1, &r, 1) != 0)
        goto out;
    if (r.copy.status != COPY_PENDING) {
        api_fail(q, E_NoPendingCopyOperation);
        goto out;
    }
    if (strcasecmp(r.copy.id, id) != 0) {
        api_fail(q, E_CopyIdMismatch);
        goto out;
    }
    /* The destination keeps its metadata and becomes zero-length, status aborted (§2.11). */
    copy_progress(q->srv->copies, r.copy.id, &r.copy.copied, &r.copy.total);
    r.copy.status = COPY_ABORTED;
    r.copy.completed = ticks_now();
    r.copy.description = "";
    r.size = 0;
    r.nblocks = 0;
    r.blocks = NULL;
    r.modified = r.copy.completed;
    r.etag = meta_next_etag(q->srv->meta);
    if ((t = meta_txn_new()) == NULL) {
        api_fail(q, E_InternalError);
        goto out;
    }
    if (api_put_blob_rec(q, t, &r) != 0)
        goto out;
    if (drop_marker(q->srv->meta, q->a, t, q->cont.id, q->blob, q->blob_len, id) != 0) {
        api_fail_io(q, META_EIO);
        goto out;
    }
    if (api_commit(q, t) == 0) {
        copy_cancel(q->srv->copies, id);   /* its worker finds the copy no longer pending (C2) */
        api_status(q, 204);
        http_resp_body(q->h, "", 0);
    }
    t = NULL;
out:
    meta_txn_free(t);
    api_blob_unlock(q, stripe);
}

/* ---- Put Block From URL ----------------------------------------------------------------------- */

/* Copies a local source range into one new needle (a staged block is one needle). */
static int
local_block(struct api_req *q, const struct src_url *u, int ranged, uint64_t start, uint64_t end,
            uint64_t max, unsigned char md5[16], uint64_t *crc)
{
    struct local_src ls;
    struct blob_rec src;
    struct needle_writer *w = NULL;
    uint64_t off = 0, len;
    MD5_CTX c;
    int rc, err;

    if (local_open(q, u, &ls) != 0 || (rc = local_load(q, u, &ls, &src)) < 0)
        return -1;
    if (rc == 0)
        return fail_source(q, 404, "BlobNotFound");
    if (source_conditions(q, u, &src) != 0)
        return -1;
    len = src.size;
    if (ranged && range_resolve(start, end, src.size, &off, &len) != 0)
        return api_fail(q, E_InvalidRange);
    if (len == 0)
        return api_fail_header(q, E_InvalidHeaderValue, "x-ms-source-range", "empty");
    if (len > max)
        return api_fail(q, E_RequestBodyTooLarge);
    if ((err = store_write_begin(q->srv->store, len, &w)) != 0)
        return api_fail_io(q, err);
    MD5_Init(&c);
    *crc = 0;
    if ((err = local_read(q, &src, off, len, w, &c, crc)) != 0) {
        store_write_abort(w);
        return api_fail_io(q, err);
    }
    MD5_Final(md5, &c);
    if ((err = store_write_finish(w, &q->ext)) != 0)   /* released when the request ends */
        return api_fail_io(q, err);
    return 0;
}

int
api_coalesce(struct api_req *q, const struct block_ref *blocks, size_t n, struct extent *out)
{
    struct blob_rec tmp = {0};
    struct needle_writer *w = NULL;
    int err;

    tmp.blocks = (struct block_ref *)blocks;
    tmp.nblocks = n;
    for (size_t i = 0; i < n; i++)
        tmp.size += blocks[i].ext.len;
    if ((err = store_write_begin(q->srv->store, tmp.size, &w)) != 0)
        return api_fail_io(q, err);
    if ((err = local_read(q, &tmp, 0, tmp.size, w, NULL, NULL)) != 0) {
        store_write_abort(w);
        return api_fail_io(q, err);
    }
    if ((err = store_write_finish(w, out)) != 0)
        return api_fail_io(q, err);
    return 0;
}

/* Re-writes the needles of a chunked external source as one (staged as one block): q->ext. */
static int
coalesce(struct api_req *q, const struct fetch_result *res)
{
    struct block_ref *b = arena_calloc(q->a, sizeof(*b) * res->next);

    if (b == NULL)
        return api_fail(q, E_InternalError);
    for (size_t i = 0; i < res->next; i++)
        b[i].ext = res->ext[i];
    return api_coalesce(q, b, res->next, &q->ext);
}

/*
 * The source of Put Block From URL and Append Block From URL (x-ms-copy-source, optionally
 * x-ms-source-range), at most `max` bytes, read into one new needle as if it were the request
 * body: q->ext, q->body_md5, q->crc64.  0, or -1 (described).
 */
static int
block_from_url(struct api_req *q, uint64_t max)
{
    const char *rh = api_header(q, "x-ms-source-range");
    struct src_url u;
    uint64_t start = 0, end = UINT64_MAX, crc = 0;
    unsigned char md5[16];
    int ranged = 0;

    if (rh != NULL) {
        if (!range_parse(rh, &start, &end))
            return api_fail_header(q, E_InvalidHeaderValue, "x-ms-source-range", rh);
        ranged = 1;
        if (end != UINT64_MAX && end - start + 1 > max)
            return api_fail(q, E_RequestBodyTooLarge);
    }
    if (parse_source(q, &u) != 0)
        return -1;
    if (is_local(q, &u)) {
        if (local_block(q, &u, ranged, start, end, max, md5, &crc) != 0 ||
            verify_source_checksums(q, md5, crc) != 0)
            return -1;
    } else {
        struct fetch_result *res;
        if (external_scheme_check(q, &u) != 0 ||
            (res = fetch_sync(q, &u, max, ranged, start, end)) == NULL)
            return -1;
        if (res->next == 1) {
            q->ext = res->ext[0];   /* the request owns it now (released in app_done) */
            res->next = 0;
        } else if (res->next > 1 && coalesce(q, res) != 0) {
            return -1;
        }
        memcpy(md5, res->md5, 16);
        crc = res->crc64;
    }
    memcpy(q->body_md5, md5, 16);
    q->crc64 = crc;
    return 0;
}

void
op_put_block_from_url(struct api_req *q)
{
    if (api_query(q, "blockid") == NULL) {
        api_fail_query(q, E_MissingRequiredQueryParameter, "blockid", NULL, "Required.");
        return;
    }
    if (block_from_url(q, BLOCK_MAX) == 0)
        op_put_block(q);   /* the staging itself: sync (V2), locks, lease, block id rules */
}

void
op_append_block_from_url(struct api_req *q)
{
    if (block_from_url(q, APPEND_MAX) == 0)
        op_append_block(q);   /* the append itself: sync (V2), locks, conditions, sealing */
}
