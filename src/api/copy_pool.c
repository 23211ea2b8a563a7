/*
 * copy_pool.c -- the pool of threads that runs asynchronous copies: Copy Blob of an external
 * source, and Copy Blob and Incremental Copy of a page blob on this server (copy.c).
 *
 * A job is admitted and committed as a pending destination by copy.c, then queued here; a worker
 * fetches the source into needles (fetch.c), syncs them (V2) and commits the content with status
 * success, or status failed with a description.  A page job instead writes the source's pages
 * into the pending destination's page map (page_copy, each write checked against the pending
 * record) and then commits success -- with a snapshot of the destination for an Incremental
 * Copy -- if the source is still the record the request read, else failed.
 *
 * Invariants of the copy state machine (pending -> success | failed | aborted):
 *  C1  a current record whose copy status is pending is a pending copy the engine can find again
 *      (eng_copy_recover; the local engine keeps a marker with the record, meta/copykey.h).
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
#include "api/copy_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/arena.h"
#include "util/codec.h"
#include "util/log.h"
#include "util/timefmt.h"

#define ASYNC_MAX        (50000ull * (4000ull << 20)) /* Copy Blob: Azure's largest block blob */
#define ASYNC_SEGMENT    (256ull << 20)               /* needle size of asynchronous copies */
#define COPY_DEADLINE    (14L * 86400) /* Azure fails a copy still pending after two weeks */
#define COPY_THREADS     4             /* workers at least; one per account beyond (P2) */
#define COPY_THREADS_MAX 64
#define JOB_ARENA        (64u << 20)

struct copy_job {
    struct copy_job *next_q;   /* its account's FIFO of jobs not started */
    struct copy_job *next_all; /* every job queued or running */
    char id[37];
    unsigned acct; /* the destination's account (index in srv->accounts) */
    char *account, *container, *blob, *url, *authorization;
    char *if_match, *if_none_match, *if_modified_since, *if_unmodified_since;
    size_t blob_len;
    uint64_t cid;
    int meta_from_source; /* the request named no metadata: take the source's */
    int pages;            /* 0: fetch url; JOB_PAGES, JOB_INCREMENTAL: copy_job_set_pages */
    char *src_account, *src_container, *src_name;
    size_t src_nlen;
    uint64_t src_cid, src_etag, was;
    char src_kind;
    int64_t src_id, prev;
    int cancel;             /* atomic: abort or shutdown */
    uint64_t copied, total; /* atomic: progress */
};

struct acct_jobs {
    struct copy_job *head, *tail; /* FIFO of jobs not started */
    unsigned queued;              /* admitted and not started (P1), the FIFO's and reserved */
    unsigned running;
};

struct copy_pool {
    struct server *srv;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct acct_jobs *acct; /* per account, as srv->accounts */
    size_t nacct;
    size_t rr;     /* the account served next when several may start a job */
    unsigned idle; /* workers waiting for a job */
    struct copy_job *all;
    int stop;
    pthread_t *threads;
    unsigned nthreads;
};

void
copy_job_free(struct copy_job *j)
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
    free(j->src_account);
    free(j->src_container);
    free(j->src_name);
    free(j);
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

struct copy_job *
copy_job_new(struct api_req *q, const char *url, int meta_from_source)
{
    struct copy_job *j = calloc(1, sizeof(*j));
    int oom = 0;

    if (j == NULL || q->srv->copies == NULL) {
        free(j);
        return NULL;
    }
    while (j->acct < q->srv->naccounts && strcmp(q->srv->accounts[j->acct].name, q->account) != 0)
        j->acct++;
    if (j->acct == q->srv->naccounts) { /* (authentication named one of ours) */
        free(j);
        return NULL;
    }
    api_new_guid(j->id);
    j->account = dup_or_null(q->account, &oom);
    j->container = dup_or_null(q->container, &oom);
    j->url = dup_or_null(url, &oom);
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
    j->meta_from_source = meta_from_source;
    if (oom || j->blob == NULL) {
        copy_job_free(j);
        return NULL;
    }
    return j;
}

const char *
copy_job_id(const struct copy_job *j)
{
    return j->id;
}

int
copy_job_set_pages(struct copy_job *j, int kind, const struct eng_blob *src, char src_kind,
                   int64_t src_id, uint64_t src_etag, int64_t prev, uint64_t was)
{
    int oom = 0;

    free(j->src_account);
    free(j->src_container);
    free(j->src_name);
    j->pages = kind;
    j->src_account = dup_or_null(src->account, &oom);
    j->src_container = dup_or_null(src->container, &oom);
    if ((j->src_name = malloc(src->nlen + 1)) != NULL) {
        memcpy(j->src_name, src->name, src->nlen);
        j->src_name[src->nlen] = '\0';
    }
    j->src_nlen = src->nlen;
    j->src_cid = src->cid;
    j->src_kind = src_kind;
    j->src_id = src_id;
    j->src_etag = src_etag;
    j->prev = prev;
    j->was = was;
    return oom || j->src_name == NULL ? -1 : 0;
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
int
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

void
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
 * queue is full.  The place is used by copy_enqueue or given back by copy_unadmit. */
int
copy_admit(struct copy_pool *p, const struct copy_job *j)
{
    unsigned a = j->acct;
    int rc = -1;

    pthread_mutex_lock(&p->mu);
    if (p->acct[a].queued < p->srv->copy_queue_max) {
        p->acct[a].queued++;
        rc = 0;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void
copy_unadmit(struct copy_pool *p, const struct copy_job *j)
{
    pthread_mutex_lock(&p->mu);
    p->acct[j->acct].queued--;
    pthread_mutex_unlock(&p->mu);
}

void
copy_enqueue(struct copy_pool *p, struct copy_job *j)
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

/*
 * Ends a copy: if the destination is still pending with this job's id (C2), commit the fetched
 * content (rc == 0) or the failure -- a compare-and-set on the record read, tried again
 * when another write won the race.  Returns 1 when the needles in res are now referenced, else 0.
 */
static int
job_finish(struct copy_pool *p, struct copy_job *j, int rc, struct fetch_result *res,
           struct arena *a)
{
    struct engine *e = &p->srv->eng;
    struct eng_blob b = {j->account, j->container, j->cid, j->blob, j->blob_len};
    struct block_ref *blocks = NULL;
    struct blob_rec old, r;
    int err;

    if (rc == 0 && res->next > 0 &&
        (blocks = arena_calloc(a, sizeof(*blocks) * res->next)) == NULL) {
        log_error("copy %s into %s/%s: cannot record its end: out of memory", j->id, j->container,
                  j->blob);
        return 0;
    }
    for (size_t i = 0; blocks != NULL && i < res->next; i++)
        blocks[i] = (struct block_ref){"", 0, res->ext[i]};
    do {
        int64_t now = ticks_now();
        if ((err = eng_blob_get(e, a, &b, ENG_CURRENT, 0, &old)) != 0 ||
            old.copy.status != COPY_PENDING || strcasecmp(old.copy.id, j->id) != 0)
            return 0; /* gone, or no longer this copy's (C2): the needles are garbage (V3) */
        r = old;
        if (rc == 0) {
            r.blocks = blocks;
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
        r.etag = eng_next_etag(e);
        err = eng_blob_commit(e, &b, &(struct eng_write){NULL, ENG_CURRENT, 0, &old, &r}, 1, NULL);
    } while (err == CO_ECONFLICT);
    if (err == CO_ENOCONT)
        return 0; /* the container is gone, with its records */
    if (err != 0) {
        log_error("copy %s into %s/%s: cannot record its end: engine error %d", j->id, j->container,
                  j->blob, err);
        return 0;
    }
    return rc == 0;
}

/* Ends a page job (page_copy's result rc, or ECANCELED, or CO_ECONFLICT with `why`): commits the
 * pending destination *cur as success, or as failed with a description; nothing when the record
 * is no longer this copy's (C2). */
static void
pages_finish(struct copy_pool *p, struct copy_job *j, int rc, const char *why,
             const struct blob_rec *cur, const struct eng_blob *sb, const struct blob_rec *sr,
             struct arena *a)
{
    struct engine *e = &p->srv->eng;
    struct eng_blob db = {j->account, j->container, j->cid, j->blob, j->blob_len};
    struct blob_rec done = *cur, snap, now;
    struct eng_write w[3];
    size_t n = 0;
    uint64_t *lv;

    if (rc == 0) {
        done.copy.status = COPY_SUCCESS;
        done.copy.copied = done.copy.total = done.size;
        done.copy.description = "";
        done.copy.completed = done.modified = ticks_now();
        done.etag = eng_next_etag(e);
        if (j->pages == JOB_INCREMENTAL) {
            /* The snapshot keeps the layers; the destination goes on in a new one on top
             * (api_page_freeze's rule). */
            done.copy.dest_snapshot = (int64_t)eng_next_etag(e);
            snap = done;
            memset(&snap.lease, 0, sizeof(snap.lease));
            snap.ntags = 0;
            snap.tags = NULL;
            snap.purge_at = 0;
            if ((lv = arena_alloc(a, sizeof(*lv) * (done.nlayers + 1))) == NULL) {
                rc = ENOMEM;
                goto failed;
            }
            lv[0] = eng_next_etag(e);
            memcpy(&lv[1], done.layers, sizeof(*lv) * done.nlayers);
            done.layers = lv;
            done.nlayers++;
            w[n++] = (struct eng_write){NULL, ENG_SNAPSHOT, done.copy.dest_snapshot, NULL, &snap};
        }
        w[n++] = (struct eng_write){NULL, ENG_CURRENT, 0, cur, &done};
        w[n++] = (struct eng_write){sb, j->src_kind, j->src_id, sr, sr}; /* the source as read */
        if ((rc = eng_blob_commit(e, &db, w, n, NULL)) == 0)
            return;
        if (rc == CO_ECONFLICT) {
            if (eng_blob_get(e, a, &db, ENG_CURRENT, 0, &now) != 0 || now.etag != cur->etag)
                return; /* no longer this copy's (C2) */
            why = "The source changed during the copy; copy a snapshot of a page blob in use.";
        }
    }
failed:
    if (why == NULL)
        why = __atomic_load_n(&p->stop, __ATOMIC_RELAXED)
                  ? "Cobalt shut down before the copy finished; start the copy again"
                  : "The copy could not write the destination; see the server log.";
    if (rc != CO_ECONFLICT)
        log_info("copy %s into %s/%s failed: %s", j->id, j->container, j->blob, co_strerror(rc));
    done = *cur;
    done.copy.status = COPY_FAILED;
    done.copy.description = why;
    done.copy.total = done.size;
    done.copy.copied = __atomic_load_n(&j->copied, __ATOMIC_RELAXED);
    done.copy.completed = done.modified = ticks_now();
    done.etag = eng_next_etag(e);
    (void)eng_blob_commit(e, &db, &(struct eng_write){NULL, ENG_CURRENT, 0, cur, &done}, 1, NULL);
}

/* A page job: the source's pages into the pending destination (page_copy), then its end. */
static void
pages_run(struct copy_pool *p, struct copy_job *j)
{
    struct engine *e = &p->srv->eng;
    struct arena *a = arena_new(JOB_ARENA);
    struct eng_blob db = {j->account, j->container, j->cid, j->blob, j->blob_len};
    struct eng_blob sb = {j->src_account, j->src_container, j->src_cid, j->src_name, j->src_nlen};
    struct blob_rec cur, sr, prev;
    const uint64_t *layers;
    size_t nlayers, c;
    int rc, diff = 0;

    if (a == NULL) {
        log_error("copy %s: out of memory", j->id);
        return;
    }
    if (eng_blob_get(e, a, &db, ENG_CURRENT, 0, &cur) != 0 || cur.copy.status != COPY_PENDING ||
        strcasecmp(cur.copy.id, j->id) != 0)
        goto out; /* aborted or overwritten before it began (C2) */
    if (eng_blob_get(e, a, &sb, j->src_kind, j->src_id, &sr) != 0 || sr.etag != j->src_etag ||
        sr.deleted || sr.type != BLOB_PAGE) {
        pages_finish(p, j, CO_ECONFLICT, "The source changed before the copy began.", &cur, &sb,
                     &sr, a);
        goto out;
    }
    __atomic_store_n(&j->total, sr.size, __ATOMIC_RELAXED);
    layers = sr.layers;
    nlayers = sr.nlayers;
    rc = 0;
    if (j->pages == JOB_INCREMENTAL) {
        /* What changed since the snapshot copied last is in the layers above it, when the two
         * share theirs (Get Page Ranges Diff's rule); else the whole snapshot over a cleared
         * destination. */
        if (j->prev != 0 && eng_blob_get(e, a, &sb, ENG_SNAPSHOT, j->prev, &prev) == 0 &&
            !prev.deleted && prev.type == BLOB_PAGE &&
            (c = api_page_layers_since(&prev, &sr)) != SIZE_MAX) {
            diff = 1;
            nlayers = c;
        }
        if (!diff && j->was > 0)
            rc = page_clear(e, &db, &cur, 0, j->was > sr.size ? j->was : sr.size);
        else if (j->was > sr.size) /* the source shrank */
            rc = page_clear(e, &db, &cur, sr.size, j->was);
    }
    if (rc == 0)
        rc = page_copy(e, &db, &cur, &sb, &sr, layers, nlayers, diff, &j->cancel, &j->copied);
    if (rc == CO_ECONFLICT)
        goto out; /* the destination changed: an abort or a write won (C2) */
    pages_finish(p, j, rc, NULL, &cur, &sb, &sr, a);
out:
    arena_free(a);
}

static void
job_run(struct copy_pool *p, struct copy_job *j)
{
    struct engine *e = &p->srv->eng;
    struct arena *a = arena_new(JOB_ARENA);
    struct fetch_result res;
    struct fetch_req fr = {0};
    int rc, err;

    if (j->pages) {
        arena_free(a);
        pages_run(p, j);
        return;
    }
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
    rc = fetch_into(e, a, &fr, &res);
    if (rc == ECANCELED && __atomic_load_n(&p->stop, __ATOMIC_RELAXED))
        snprintf(res.message, sizeof(res.message),
                 "Cobalt shut down before the copy finished; start the copy again");
    if (rc == 0 && (err = eng_data_sync(e, res.ext, res.next)) != 0) { /* V2 */
        rc = err;
        snprintf(res.message, sizeof(res.message), "storing the copy failed: %s", strerror(err));
    }
    if (rc != 0)
        log_info("copy %s from %.*s failed: %s%s%s", j->id, (int)strcspn(j->url, "?#"), j->url,
                 res.message, res.detail[0] ? ": " : "", res.detail);
    job_finish(p, j, rc, &res, a);
    fetch_result_release(e, &res); /* referenced now, or garbage for good */
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
            if (p->stop) { /* stopping, nothing left */
                pthread_mutex_unlock(&p->mu);
                return NULL;
            }
            p->idle++;
            pthread_cond_wait(&p->cv, &p->mu);
            p->idle--;
            continue;
        }
        if (p->stop)
            __atomic_store_n(&j->cancel, 1, __ATOMIC_RELAXED); /* fail it without fetching */
        pthread_mutex_unlock(&p->mu);
        job_run(p, j);
        forget(p, j);
        pthread_mutex_lock(&p->mu);
        p->acct[j->acct].running--;
        pthread_cond_broadcast(&p->cv); /* P2: a job held back may start now */
        copy_job_free(j);
    }
}

/* C3: every copy a crash left pending becomes failed. */
static int
recover_pending(struct server *srv)
{
    long n = eng_copy_recover(&srv->eng, "Cobalt restarted while the copy was in progress; start "
                                         "the copy again");

    if (n < 0)
        return EIO;
    if (n > 0)
        log_warn("copy: %ld cop%s interrupted by a restart marked failed", n, n == 1 ? "y" : "ies");
    return 0;
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
    for (unsigned i = 0; i < p->nthreads; i++) /* they drain the queue, failing each job */
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    srv->copies = NULL;
    free(p->threads);
    free(p->acct);
    free(p);
}
