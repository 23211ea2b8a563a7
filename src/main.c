/*
 * main.c -- the command line: cobalt serve | fsck | compact | version | help.
 *
 *   cobalt serve [--host ADDR] [--port N] [--data-dir DIR] [--log-level LEVEL]
 *                [--fsync always|never] [--accounts-file FILE]
 *
 * Accounts: COBALT_ACCOUNTS (or AZURITE_ACCOUNTS, so Azurite setups carry over) in Azurite's format
 * "name1:key1[:key2];name2:key1", or the same entries one per line in --accounts-file.  Without
 * any, the well-known development account devstoreaccount1 is served.  Keys are never logged.
 *
 * Data directory layout: DIR/meta (RocksDB), DIR/volumes (needle volumes).
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "admin/admin.h"
#include "admin/compact.h"
#include "admin/monitor.h"
#include "admin/scrub.h"
#include "api/api.h"
#include "api/fetch.h"
#include "bench/bench.h"
#include "meta/meta.h"
#include "net/http.h"
#include "store/store.h"
#ifdef COBALT_FAULT_INJECTION
#include "store/faultio.h"
#endif
#include "util/codec.h"
#include "util/log.h"
#include "util/timefmt.h"

#define DEV_ACCOUNT "devstoreaccount1"
#define DEV_KEY     "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

static void
usage(FILE *f)
{
    fprintf(f,
            "Cobalt %s -- an object store that speaks the Azure Blob Storage REST API\n"
            "\n"
            "usage: cobalt serve [options]     serve the Blob API\n"
            "       cobalt fsck [--repair] DIR check that every record points at intact data\n"
            "       cobalt compact [--threshold F] DIR  reclaim dead space now (server stopped;\n"
            "                                   default threshold 0.05)\n"
            "       cobalt bench WORKLOAD [opts] load-test any Blob endpoint ('bench --help')\n"
            "       cobalt version             print the version\n"
            "       cobalt help                this text\n"
            "\n"
            "serve options:\n"
            "  --host ADDR            address to listen on (default 127.0.0.1)\n"
            "  --port N               port (default 10000; 0 picks a free one)\n"
            "  --data-dir DIR         where data lives (default ./cobalt-data)\n"
            "  --log-level LEVEL      debug, info, warn or error (default info)\n"
            "  --fsync always|never   'never' skips fdatasync: development and benchmarks only,\n"
            "                         a crash can lose acknowledged writes (default always)\n"
            "  --accounts-file FILE   accounts, one 'name:key1[:key2]' per line\n"
            "  --compact-threshold F  compact a volume once this fraction of it is dead\n"
            "                         (default 0.3; 0 turns background compaction off)\n"
            "  --volume-size BYTES    start a new volume file past this size (default 1 GiB)\n"
            "  --versioning ACCOUNTS  keep a version of every blob write: 'all' or a comma list\n"
            "                         of account names (Azure switches this in its management\n"
            "                         plane; the Blob API has no switch)\n"
            "  --container-soft-delete-days N  keep deleted containers restorable N days\n"
            "  --scrub-rate MIB       background checksum scrub, MiB/s (default 16; 0: off)\n"
            "  --scrub-interval SECS  start a scrub pass this often (default 604800: weekly)\n"
            "  --rehydrate-delay SECS an Archive blob set back to Hot/Cool/Cold becomes readable\n"
            "                         this long after Set Blob Tier (default 5; 0: at once)\n"
            "  --idle-timeout SECS    close a connection idle this long (default 120)\n"
            "  --header-timeout SECS  close a connection whose request line and headers take\n"
            "                         longer than this (default 30)\n"
            "  --body-timeout SECS    close a connection whose request body takes longer than\n"
            "                         this per MiB (default 600, Azure's allowance)\n"
            "  --meta-cache MIB       memory for cached blob records (default 256; about 80\n"
            "                         bytes per blob holds them all)\n"
            "  --metrics-port N       serve Prometheus metrics at http://HOST:N/metrics\n"
            "                         (default: off)\n"
            "  --egress-allow CIDRS   let copies fetch from these otherwise refused prefixes, e.g.\n"
            "                         10.1.0.0/16,fd00::/8 (repeatable; default: public only)\n"
            "  --copy-stall-timeout SECS  a copy source that sends nothing this long fails the\n"
            "                         copy (default 60)\n"
            "  --copy-queue N         asynchronous copies one account may have waiting for a\n"
            "                         worker; more are refused 503 ServerBusy (default 1024)\n"
            "  --max-connections N    connections open at once (default 4096); near the limit,\n"
            "                         those still waiting for request headers are closed,\n"
            "                         oldest first\n"
            "  --max-connections-per-address N  connections open at once from one client\n"
            "                         address (default: an eighth of --max-connections; 0: no\n"
            "                         limit)\n"
            "\n"
            "environment:\n"
            "  COBALT_ACCOUNTS        'name1:key1[:key2];name2:key1' (AZURITE_ACCOUNTS is read too)\n"
            "Without accounts the development account " DEV_ACCOUNT " is served with its\n"
            "well-known key, path-style: http://127.0.0.1:10000/" DEV_ACCOUNT "/<container>/<blob>\n",
            COBALT_VERSION);
}

/* Parses "name:key1[:key2]" entries separated by any of `seps` and appends them. */
static int
parse_accounts(const char *spec, const char *seps, struct server *srv)
{
    char *copy = strdup(spec), *save = NULL, *entry;
    int rc = 0;

    if (copy == NULL)
        return -1;
    for (entry = strtok_r(copy, seps, &save); entry != NULL; entry = strtok_r(NULL, seps, &save)) {
        char *f[3] = {NULL, NULL, NULL}, *s2 = NULL, *p;
        int nf = 0;
        struct auth_account *a, *na;

        while (*entry == ' ' || *entry == '\t')
            entry++;
        if (*entry == '\0' || *entry == '#')
            continue;
        for (p = strtok_r(entry, ":", &s2); p != NULL && nf < 3; p = strtok_r(NULL, ":", &s2))
            f[nf++] = p;
        if (nf < 2 || p != NULL) {
            log_error("accounts: entry for '%s' must be name:key1[:key2]", f[0] ? f[0] : "?");
            rc = -1;
            break;
        }
        if ((na = realloc(srv->accounts, sizeof(*na) * (srv->naccounts + 1))) == NULL) {
            rc = -1;
            break;
        }
        srv->accounts = na;
        a = &srv->accounts[srv->naccounts];
        memset(a, 0, sizeof(*a));
        a->name = strdup(f[0]);
        for (int k = 1; k < nf; k++) {
            long n = strlen(f[k]) > 88 ? -1 : base64_decode(f[k], strlen(f[k]), a->key[k - 1]);
            if (n <= 0) {
                /* Keys longer than 64 bytes do not fit; report without echoing the key. */
                log_error("accounts: key %d of '%s' is not base64 of at most 64 bytes", k, f[0]);
                rc = -1;
                break;
            }
            a->keylen[k - 1] = (size_t)n;
            a->nkeys = k;
        }
        if (rc != 0 || a->name == NULL)
            break;
        srv->naccounts++;
    }
    free(copy);
    return rc;
}

/* --versioning: "all" or a comma-separated list of account names. */
static int
set_versioning(struct server *srv, const char *list)
{
    char *copy = strdup(list), *save = NULL, *name;
    int rc = 0;

    if (copy == NULL)
        return -1;
    for (name = strtok_r(copy, ",", &save); name != NULL; name = strtok_r(NULL, ",", &save)) {
        size_t i;
        for (i = 0; i < srv->naccounts; i++)
            if (strcmp(name, "all") == 0 || strcmp(name, srv->accounts[i].name) == 0)
                srv->versioning[i] = 1;
        if (strcmp(name, "all") != 0) {
            for (i = 0; i < srv->naccounts && strcmp(name, srv->accounts[i].name) != 0; i++)
                ;
            if (i == srv->naccounts) {
                fprintf(stderr, "cobalt: --versioning: no account named '%s'\n", name);
                rc = -1;
            }
        }
    }
    free(copy);
    return rc;
}

/* A whole number of seconds in [lo, hi] for option --name. */
static int
parse_seconds(const char *arg, const char *name, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    unsigned long long v = strtoull(arg, &end, 10);

    if (end == arg || *end != '\0' || arg[0] == '-' || v < lo || v > hi) {
        fprintf(stderr, "cobalt: --%s must be %u..%u seconds\n", name, lo, hi);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

static int
load_accounts_file(const char *path, struct server *srv)
{
    FILE *f = fopen(path, "r");
    char *text = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;

    if (f == NULL) {
        log_error("accounts file %s: %s", path, strerror(errno));
        return -1;
    }
    while (rc == 0 && (n = getline(&text, &cap, f)) > 0)
        rc = parse_accounts(text, "\r\n;", srv);
    free(text);
    fclose(f);
    return rc;
}

static int
serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"host", required_argument, NULL, 'h'},      {"port", required_argument, NULL, 'p'},
        {"data-dir", required_argument, NULL, 'd'},  {"log-level", required_argument, NULL, 'l'},
        {"fsync", required_argument, NULL, 'f'},     {"accounts-file", required_argument, NULL, 'a'},
        {"compact-threshold", required_argument, NULL, 'c'},
        {"volume-size", required_argument, NULL, 'v'},
        {"scrub-rate", required_argument, NULL, 'r'},
        {"versioning", required_argument, NULL, 'V'},
        {"container-soft-delete-days", required_argument, NULL, 'D'},
        {"scrub-interval", required_argument, NULL, 'i'},
        {"rehydrate-delay", required_argument, NULL, 'H'},
        {"idle-timeout", required_argument, NULL, 'I'},
        {"header-timeout", required_argument, NULL, 'T'},
        {"body-timeout", required_argument, NULL, 'B'},
        {"metrics-port", required_argument, NULL, 'M'},
        {"max-connections", required_argument, NULL, 'n'},
        {"max-connections-per-address", required_argument, NULL, 'A'},
        {"meta-cache", required_argument, NULL, 'C'},
        {"egress-allow", required_argument, NULL, 'E'},
        {"copy-stall-timeout", required_argument, NULL, 'S'},
        {"copy-queue", required_argument, NULL, 'Q'},
        {"help", no_argument, NULL, '?'},            {NULL, 0, NULL, 0}};
    struct http_config hc = {"127.0.0.1", 10000, 4096, 120, 30, 600, 1, 0};
    const char *data_dir = "./cobalt-data", *accounts_file = NULL, *env;
    struct store_config sc = {0};
    struct server srv = {0};
    struct http_app app;
    struct http_server *http = NULL, *monitor = NULL;
    struct compactor *compactor = NULL;
    struct scrubber *scrubber = NULL;
    unsigned long long scrub_rate = 16, scrub_interval = 604800;
    size_t meta_cache = 0;
    const char *versioning = NULL;
    double threshold = 0.3;
    char *end;
    char path[4096];
    sigset_t sigs;
    int c, sig, fsync_on = 1, lvl, rc = 1, err, option_index = 0, metrics_port = -1;
    long long per_address = -1;   /* -1: an eighth of --max-connections */

    srv.rehydrate_delay = 5;
    srv.copy_stall_secs = 60;
    srv.copy_queue_max = 1024;
    while ((c = getopt_long(argc, argv, "", opts, &option_index)) != -1) {
        switch (c) {
        case 'h':
            hc.host = optarg;
            break;
        case 'p':
        case 'M':
            *(c == 'p' ? &hc.port : &metrics_port) = atoi(optarg);
            if (atoi(optarg) < 0 || atoi(optarg) > 65535) {
                fprintf(stderr, "cobalt: bad --%s %s\n", opts[option_index].name, optarg);
                return 2;
            }
            break;
        case 'd':
            data_dir = optarg;
            break;
        case 'l':
            if ((lvl = log_level_parse(optarg)) < 0) {
                fprintf(stderr, "cobalt: --log-level must be debug, info, warn or error\n");
                return 2;
            }
            log_threshold = (enum log_level)lvl;
            break;
        case 'f':
            if (strcmp(optarg, "always") == 0)
                fsync_on = 1;
            else if (strcmp(optarg, "never") == 0)
                fsync_on = 0;
            else {
                fprintf(stderr, "cobalt: --fsync must be always or never\n");
                return 2;
            }
            break;
        case 'a':
            accounts_file = optarg;
            break;
        case 'c':
            threshold = strtod(optarg, &end);
            if (*end != '\0' || threshold < 0 || threshold > 1) {
                fprintf(stderr, "cobalt: --compact-threshold must be between 0 and 1\n");
                return 2;
            }
            break;
        case 'V':
            versioning = optarg;
            break;
        case 'D':
            srv.container_soft_delete_days = atoi(optarg);
            if (srv.container_soft_delete_days < 0 || srv.container_soft_delete_days > 365) {
                fprintf(stderr, "cobalt: --container-soft-delete-days must be 0..365\n");
                return 2;
            }
            break;
        case 'r':
        case 'i':
            if (c == 'r')
                scrub_rate = strtoull(optarg, &end, 10);
            else
                scrub_interval = strtoull(optarg, &end, 10);
            if (*end != '\0' || optarg[0] == '-' || (c == 'i' && scrub_interval == 0)) {
                fprintf(stderr, "cobalt: --%s needs a positive number\n",
                        c == 'r' ? "scrub-rate" : "scrub-interval");
                return 2;
            }
            break;
        case 'H':
            if (parse_seconds(optarg, "rehydrate-delay", 0, 86400 * 30, &srv.rehydrate_delay) != 0)
                return 2;
            break;
        case 'I':
        case 'T':
        case 'B':
            if (parse_seconds(optarg, opts[option_index].name, 1, 86400,
                              c == 'I' ? &hc.timeout_s
                              : c == 'T' ? &hc.header_timeout_s : &hc.body_timeout_s) != 0)
                return 2;
            break;
        case 'n':
        case 'A': {
            unsigned long long n = strtoull(optarg, &end, 10);
            if (*end != '\0' || end == optarg || optarg[0] == '-' || n > 65536 ||
                (c == 'n' && n < 16)) {
                fprintf(stderr, "cobalt: --%s must be %s..65536\n", opts[option_index].name,
                        c == 'n' ? "16" : "0");
                return 2;
            }
            if (c == 'n')
                hc.max_connections = (unsigned)n;
            else
                per_address = (long long)n;
            break;
        }
        case 'C': {
            unsigned long long mib = strtoull(optarg, &end, 10);
            if (*end != '\0' || end == optarg || optarg[0] == '-' || mib < 8 || mib > (1ull << 22)) {
                fprintf(stderr, "cobalt: --meta-cache must be 8..4194304 MiB\n");
                return 2;
            }
            meta_cache = (size_t)mib << 20;
            break;
        }
        case 'E':
            if (egress_allow(&srv.egress, optarg) != 0) {
                fprintf(stderr, "cobalt: --egress-allow takes addresses or ADDR/BITS prefixes, "
                                "comma-separated: '%s'\n", optarg);
                return 2;
            }
            break;
        case 'S':
            if (parse_seconds(optarg, "copy-stall-timeout", 1, 86400, &srv.copy_stall_secs) != 0)
                return 2;
            break;
        case 'Q': {
            unsigned long long n = strtoull(optarg, &end, 10);
            if (*end != '\0' || end == optarg || optarg[0] == '-' || n < 1 || n > 1000000) {
                fprintf(stderr, "cobalt: --copy-queue must be 1..1000000\n");
                return 2;
            }
            srv.copy_queue_max = (unsigned)n;
            break;
        }
        case 'v':
            sc.volume_size = strtoull(optarg, &end, 10);
            if (*end != '\0' || sc.volume_size < (1u << 20)) {
                fprintf(stderr, "cobalt: --volume-size must be a byte count of at least 1 MiB\n");
                return 2;
            }
            break;
        default:
            usage(stderr);
            return 2;
        }
    }
    if ((env = getenv("COBALT_ACCOUNTS")) == NULL)
        env = getenv("AZURITE_ACCOUNTS");
    if ((env && parse_accounts(env, ";", &srv) != 0) ||
        (accounts_file && load_accounts_file(accounts_file, &srv) != 0))
        return 2;
    if (srv.naccounts == 0 && parse_accounts(DEV_ACCOUNT ":" DEV_KEY, ";", &srv) != 0)
        return 1;
    if ((srv.versioning = calloc(srv.naccounts, 1)) == NULL)
        return 1;
    /* Tests shorten retention "days" so soft-delete purges can be observed; never in production. */
    srv.day_ticks = 86400 * TICKS_PER_SEC;
    if ((env = getenv("COBALT_DAY_SECONDS")) != NULL && atoll(env) > 0) {
        srv.day_ticks = atoll(env) * TICKS_PER_SEC;
        log_warn("COBALT_DAY_SECONDS=%s: retention days are %s seconds long (testing only)", env,
                 env);
    }
    if (versioning != NULL && set_versioning(&srv, versioning) != 0)
        return 2;
    /* Room for a pool of parallel clients behind one address (AzCopy opens up to 300), not for
     * one address to take every connection. */
    hc.max_per_address = per_address >= 0 ? (unsigned)per_address : hc.max_connections / 8;

    /* Signals are taken synchronously by this thread (sigwait below), so they are blocked
     * before any thread exists -- RocksDB starts its own in meta_open -- and every thread
     * inherits the mask: a SIGTERM during start-up then waits for a clean stop instead of
     * killing the process through a thread that does not block it. */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    if (mkdir(data_dir, 0755) != 0 && errno != EEXIST) {
        log_error("data dir %s: %s", data_dir, strerror(errno));
        return 1;
    }
    snprintf(path, sizeof(path), "%s/meta", data_dir);
    if (meta_open(path, fsync_on, 0, meta_cache, &srv.meta) != 0) {
        log_error("cannot open metadata in %s (is another cobalt using this data dir?)", path);
        goto out;
    }
    snprintf(path, sizeof(path), "%s/volumes", data_dir);
    sc.dir = path;
    sc.fsync = fsync_on;
#ifdef COBALT_FAULT_INJECTION
    /* Test builds only (tests/crash): failures and simulated power loss in the volume I/O. */
    if ((env = getenv("COBALT_IO_FAULTS")) != NULL && (sc.io = faultio_setup(env)) == NULL) {
        log_error("COBALT_IO_FAULTS: cannot parse '%s'", env);
        goto out;
    }
#endif
    if ((err = store_open(&sc, &srv.store)) != 0) {
        log_error("cannot open volumes in %s: %s", path, strerror(err));
        goto out;
    }
    if ((err = compact_recover(srv.meta, srv.store)) != 0) {
        log_error("cannot finish an interrupted compaction: %s", strerror(err));
        goto out;
    }

    /* Request buffers (upload stages, read buffers, libmicrohttpd's response blocks) are up to a
     * few MiB and live for one request.  glibc's defaults hand such blocks back to the kernel when
     * freed (mmap/munmap, or trimming the top of a thread's heap), so every request paid page
     * faults and page zeroing for fresh memory: 1 MiB GETs went from about 620 to about 1,030 MiB/s
     * with these two settings (docs/benchmarks.md).  Free memory is kept for reuse instead, up to
     * 32 MiB at the top of each heap. */
    mallopt(M_MMAP_THRESHOLD, 8 << 20);
    mallopt(M_TRIM_THRESHOLD, 32 << 20);

    /* One fd per volume and per connection: use all the descriptors the system allows. */
    {
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    /* Before serving (it settles copies a crash left pending). */
    if ((err = copy_pool_start(&srv)) != 0) {
        log_error("cannot start the copy workers: %s", strerror(err));
        goto out;
    }
    /* Dead space left before this start is unknown: the first check after start-up compacts.
     * (Set before any thread starts.) */
    srv.freed_bytes = (sc.volume_size ? sc.volume_size : (1ull << 30)) / 4;
    api_app(&srv, &app);
    srv.port = hc.port;
    /* The metrics listener first: once the API port accepts connections, /metrics does too. */
    if (metrics_port >= 0) {
        struct http_config mc = hc;
        struct http_app mapp;

        mc.port = metrics_port;
        mc.max_connections = 64;
        mc.max_per_address = mc.max_connections / 8;
        mc.metrics = 0;   /* the API's figures, not the scrapes' */
        monitor_app(&mapp);
        if (http_start(&mc, &mapp, &monitor) != 0)
            goto out;
        log_info("metrics at http://%s:%d/metrics", hc.host, http_port(monitor));
    }
    if (http_start(&hc, &app, &http) != 0) {
        http_stop(monitor, 0);
        goto out;
    }
    __atomic_store_n(&srv.port, http_port(http), __ATOMIC_RELAXED);   /* --port 0 */
    compactor = compactor_start(srv.meta, srv.store, threshold,
                                (sc.volume_size ? sc.volume_size : (1ull << 30)) / 4,
                                &srv.freed_bytes);
    if (scrub_rate > 0)
        scrubber = scrubber_start(srv.meta, srv.store, scrub_rate << 20, (unsigned)scrub_interval);
    log_info("cobalt %s listening on http://%s:%d (data %s, fsync %s, %zu account%s)",
             COBALT_VERSION, hc.host, http_port(http), data_dir, fsync_on ? "always" : "never",
             srv.naccounts, srv.naccounts == 1 ? "" : "s");
    if (!fsync_on)
        log_warn("--fsync=never: a crash can lose acknowledged writes");
    sigwait(&sigs, &sig);
    log_info("signal %d: finishing in-flight requests", sig);
    http_stop(http, 30);
    http_stop(monitor, 0);
    compactor_stop(compactor);
    scrubber_stop(scrubber);
    rc = 0;
out:
    copy_pool_stop(&srv);   /* after http_stop: no request can start a copy any more */
    store_close(srv.store);
    meta_close(srv.meta);
    for (size_t i = 0; i < srv.naccounts; i++)
        free((char *)srv.accounts[i].name);
    free(srv.accounts);
    free(srv.versioning);
    egress_free(srv.egress);
    if (rc == 0)
        log_info("stopped cleanly");
    return rc;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "serve") == 0)
        return serve(argc - 1, argv + 1);
    if (strcmp(argv[1], "fsck") == 0)
        return fsck_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "compact") == 0)
        return compact_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "bench") == 0)
        return bench_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("cobalt %s\n", COBALT_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "cobalt: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
