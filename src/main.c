/*
 * main.c -- the command line: cobalt serve | fsck | compact | version | help.
 *
 *   cobalt serve [--host ADDR] [--port N] [--data-dir DIR] [--log-level LEVEL] ...
 *
 * serve's options are the rows of serve_opts (util/options.h): each says how its argument is
 * checked, where it is stored and its default, and yields its --help lines and its row of
 * README.md's table (`cobalt help --markdown`; ctest fails when README.md differs from it).
 *
 * Accounts: COBALT_ACCOUNTS (or AZURITE_ACCOUNTS, so Azurite setups carry over) in Azurite's format
 * "name1:key1[:key2];name2:key1", or the same entries one per line in --accounts-file.  Without
 * any, the well-known development account devstoreaccount1 is served.  Keys are never logged.
 *
 * Data directory layout: DIR/meta (RocksDB), DIR/volumes (needle volumes).
 */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
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
#include "engine/engine.h"
#include "meta/meta.h"
#include "net/http.h"
#include "store/store.h"
#ifdef COBALT_FAULT_INJECTION
#include "store/faultio.h"
#endif
#include "util/cidr.h"
#include "util/codec.h"
#include "util/log.h"
#include "util/options.h"
#include "util/timefmt.h"

#define DEV_ACCOUNT "devstoreaccount1"
#define DEV_KEY \
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

/* Where serve's options are stored (util/options.h): the configurations of the HTTP server, the
 * volume store and the Blob API server, serve()'s own settings, and the log threshold. */
enum { AT_HTTP, AT_STORE, AT_SERVER, AT_SERVE, AT_LOG };

/* serve()'s settings that no configuration struct holds. */
struct serve_settings {
    const char *data_dir, *accounts_file, *versioning;
    unsigned fsync_mode;           /* index in fsync_modes */
    double threshold;              /* background compaction; 0: off */
    unsigned long long scrub_rate; /* bytes per second; 0: no scrub */
    unsigned scrub_interval;       /* seconds */
    size_t meta_cache;             /* bytes */
    int metrics_port;              /* -1: no metrics listener */
    int web_port;                  /* -1: no static website listener */
    long long per_address;         /* -1: an eighth of --max-connections */
    struct cidr_list *trusted;     /* --trusted-proxy */
};

static const char *const fsync_modes[] = {"always", "never", NULL};

/* --log-level: log.c holds the level names. */
static int
set_log_level(void *field, const char *arg)
{
    int lvl = log_level_parse(arg);

    if (lvl < 0)
        return -1;
    *(enum log_level *)field = (enum log_level)lvl;
    return 0;
}

/* --egress-allow, --trusted-proxy, repeatable: each list adds prefixes (util/cidr.h). */
static int
add_cidrs(void *field, const char *list)
{
    return cidr_list_add(field, list);
}

#define SECONDS(lo_, hi_) .kind = OPT_UINT, .lo = (lo_), .hi = (hi_), .unit = "seconds"

/* serve's options, in the order of --help and README.md's table (scripts/update-readme-options.sh
 * writes that table from `cobalt help --markdown`; ctest checks that it is current). */
/* clang-format off */
static const struct opt serve_opts[] = {
    {.name = "host", .arg = "ADDR", .kind = OPT_STRING, OPT_AT(AT_HTTP, struct http_config, host),
     .def = "127.0.0.1", .help = "address to listen on",
     .doc = "IPv4 or IPv6 address to listen on"},
    {.name = "port", .arg = "N", .kind = OPT_UINT, .hi = 65535,
     OPT_AT(AT_HTTP, struct http_config, port), .def = "10000", .err = "bad --%s %s",
     .help = "port; 0 picks a free one", .doc = "`0` picks a free port"},
    {.name = "data-dir", .arg = "DIR", .kind = OPT_STRING,
     OPT_AT(AT_SERVE, struct serve_settings, data_dir), .def = "./cobalt-data",
     .help = "where data lives",
     .doc = "RocksDB metadata in `DIR/meta`, volumes in `DIR/volumes`"},
    {.name = "log-level", .arg = "LEVEL", .kind = OPT_EACH, .each = set_log_level, .at = AT_LOG,
     .def = "info",
     .err = "--%s must be debug, info, warn or error",
     .help = "debug, info, warn or error", .doc = "`debug`, `info`, `warn`, `error`"},
    {.name = "fsync", .arg = "always|never", .kind = OPT_ENUM, .choices = fsync_modes,
     OPT_AT(AT_SERVE, struct serve_settings, fsync_mode), .def = "always",
     .help = "'never' skips fdatasync: development and benchmarks only, a crash can lose "
             "acknowledged writes",
     .doc = "`never` skips fdatasync and the synced WAL: for development and benchmarks only — a "
            "crash can lose acknowledged writes"},
    {.name = "accounts-file", .arg = "FILE", .kind = OPT_STRING,
     OPT_AT(AT_SERVE, struct serve_settings, accounts_file),
     .help = "accounts, one 'name:key1[:key2]' per line",
     .doc = "accounts, one `name:key1[:key2]` per line"},
    {.name = "versioning", .arg = "ACCOUNTS", .kind = OPT_STRING,
     OPT_AT(AT_SERVE, struct serve_settings, versioning), .def_text = "off",
     .help = "keep a version of every blob write: 'all' or a comma list of account names; Azure "
             "switches this in its management plane, the Blob API has no switch",
     .doc = "keep a version of every write: `all` or a comma list of accounts (Azure switches this "
            "in its management plane; the Blob API has no switch)"},
    {.name = "container-soft-delete-days", .arg = "N", .kind = OPT_UINT, .hi = 365,
     OPT_AT(AT_SERVER, struct server, container_soft_delete_days), .def = "0",
     .help = "keep deleted containers restorable N days",
     .doc = "keep deleted containers restorable (Restore Container) for N days"},
    {.name = "rehydrate-delay", .arg = "SECS", SECONDS(0, 86400 * 30),
     OPT_AT(AT_SERVER, struct server, rehydrate_delay), .def = "5",
     .help = "an Archive blob set back to Hot/Cool/Cold becomes readable this long after Set "
             "Blob Tier; 0: at once",
     .doc = "how long after Set Blob Tier an Archive blob's rehydration completes (`0`: at once)"},
    {.name = "compact-threshold", .arg = "F", .kind = OPT_REAL, .hi = 1,
     OPT_AT(AT_SERVE, struct serve_settings, threshold), .def = "0.3",
     .help = "compact a volume once this fraction of it is dead; 0 turns background compaction "
             "off",
     .doc = "compact a volume in the background once this fraction of it is dead (`0`: never)"},
    {.name = "volume-size", .arg = "BYTES", .kind = OPT_UINT, .lo = 1 << 20, .hi = UINT64_MAX,
     OPT_AT(AT_STORE, struct store_config, volume_size), .def_text = "1 GiB",
     .err = "--%s must be a byte count of at least 1 MiB",
     .help = "start a new volume file past this size"},
    {.name = "scrub-rate", .arg = "MIB", .kind = OPT_UINT, .hi = ULLONG_MAX >> 20, .scale = 1 << 20,
     OPT_AT(AT_SERVE, struct serve_settings, scrub_rate), .def = "16",
     .err = "--%s needs a positive number", .help = "background checksum scrub, MiB/s; 0: off",
     .doc = "background checksum scrub of all stored data, MiB/s (`0`: off)"},
    {.name = "scrub-interval", .arg = "SECS", .kind = OPT_UINT, .lo = 1, .hi = UINT_MAX,
     OPT_AT(AT_SERVE, struct serve_settings, scrub_interval), .def = "604800",
     .err = "--%s needs a positive number",
     .help = "start a scrub pass this often; 604800 is a week",
     .doc = "start a scrub pass this often (`604800`: a week)"},
    {.name = "meta-cache", .arg = "MIB", .kind = OPT_UINT, .lo = 8, .hi = 1 << 22,
     .scale = 1 << 20, .unit = "MiB", OPT_AT(AT_SERVE, struct serve_settings, meta_cache),
     .def = "256", .help = "memory for cached blob records; about 80 bytes per blob holds them all",
     .doc = "memory for cached blob records (a quarter as ready blocks, the rest LZ4-compressed); "
            "about 80 bytes per blob holds them all, and a cold GET then reads the disk once "
            "instead of twice"},
    {.name = "idle-timeout", .arg = "SECS", SECONDS(1, 86400),
     OPT_AT(AT_HTTP, struct http_config, timeout_s), .def = "120",
     .help = "close a connection idle this long",
     .doc = "close a connection with no traffic for this long"},
    {.name = "header-timeout", .arg = "SECS", SECONDS(1, 86400),
     OPT_AT(AT_HTTP, struct http_config, header_timeout_s), .def = "30",
     .help = "close a connection whose request line and headers take longer than this",
     .doc = "close a connection whose request line and headers take longer (slowloris)"},
    {.name = "body-timeout", .arg = "SECS", SECONDS(1, 86400),
     OPT_AT(AT_HTTP, struct http_config, body_timeout_s), .def = "600",
     .help = "close a connection whose request body takes longer than this per MiB, Azure's "
             "allowance",
     .doc = "close a connection whose request body takes longer than this per MiB (Azure's "
            "allowance)"},
    {.name = "max-connections", .arg = "N", .kind = OPT_UINT, .lo = 16, .hi = 65536,
     OPT_AT(AT_HTTP, struct http_config, max_connections), .def = "4096",
     .help = "connections open at once; near the limit, those still waiting for request headers "
             "are closed, oldest first",
     .doc = "connections open at once; from 7/8 of it on, connections still waiting for request "
            "headers are closed oldest first down to 3/4 as new ones arrive, so a flood of "
            "half-open connections cannot lock clients out (up to an eighth more may be draining "
            "after the server closed them)"},
    {.name = "max-connections-per-address", .arg = "N", .kind = OPT_UINT, .hi = 65536,
     OPT_AT(AT_SERVE, struct serve_settings, per_address),
     .def_text = "an eighth of `--max-connections`",
     .help = "connections open at once from one client address; 0: no limit",
     .doc = "connections open at once from one client address (`0`: no limit); behind a reverse "
            "proxy, raise it or set `0`"},
    {.name = "metrics-port", .arg = "N", .kind = OPT_UINT, .hi = 65535,
     OPT_AT(AT_SERVE, struct serve_settings, metrics_port), .def_text = "off",
     .err = "bad --%s %s", .help = "serve Prometheus metrics at http://HOST:N/metrics",
     .doc = "serve Prometheus metrics at `http://HOST:N/metrics` (see Monitoring)"},
    {.name = "web-port", .arg = "N", .kind = OPT_UINT, .hi = 65535,
     OPT_AT(AT_SERVE, struct serve_settings, web_port), .def_text = "off",
     .err = "bad --%s %s", .help = "serve the first account's $web container at http://HOST:N/",
     .doc = "serve the first account's `$web` container as a static website at `http://HOST:N/`, "
            "without authentication (docs/website.md)"},
    {.name = "egress-allow", .arg = "CIDRS", .kind = OPT_EACH, .each = add_cidrs,
     OPT_AT(AT_SERVER, struct server, egress), .def_text = "none",
     .err = "--%s takes addresses or ADDR/BITS prefixes, comma-separated: '%s'",
     .help = "let copies fetch from these otherwise refused prefixes, e.g. "
             "10.1.0.0/16,fd00::/8; repeatable",
     .doc = "copies from URLs may reach only public addresses; this admits more prefixes, e.g. "
            "`10.1.0.0/16,fd00::/8` (repeatable; docs/copy.md)"},
    {.name = "trusted-proxy", .arg = "CIDRS", .kind = OPT_EACH, .each = add_cidrs,
     OPT_AT(AT_SERVE, struct serve_settings, trusted), .def_text = "none",
     .err = "--%s takes addresses or ADDR/BITS prefixes, comma-separated: '%s'",
     .help = "reverse proxies whose X-Forwarded-For names the client (for SAS sip); "
             "repeatable",
     .doc = "reverse proxies in front of Cobalt: for a connection from one of them, the client "
            "address (SAS `sip`) is the right-most address of `X-Forwarded-For` that is not "
            "itself a trusted proxy; no header is ever believed from anyone else "
            "(docs/security.md)"},
    {.name = "copy-stall-timeout", .arg = "SECS", SECONDS(1, 86400),
     OPT_AT(AT_SERVER, struct server, copy_stall_secs), .def = "60",
     .help = "a copy source that sends nothing this long fails the copy",
     .doc = "a copy whose source sends nothing this long fails"},
    {.name = "copy-queue", .arg = "N", .kind = OPT_UINT, .lo = 1, .hi = 1000000,
     OPT_AT(AT_SERVER, struct server, copy_queue_max), .def = "1024",
     .help = "asynchronous copies one account may have waiting for a worker; more are refused "
             "503 ServerBusy",
     .doc = "asynchronous copies from URLs one account may have waiting for a worker; more are "
            "refused `503 ServerBusy`"},
    {0}};
/* clang-format on */

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
            "       cobalt help [--markdown]   this text (--markdown: serve options as a table)\n"
            "\n"
            "serve options:\n",
            COBALT_VERSION);
    options_help(serve_opts, f);
    fputs("\n"
          "environment:\n"
          "  COBALT_ACCOUNTS        'name1:key1[:key2];name2:key1' (AZURITE_ACCOUNTS is read too)\n"
          "Without accounts the development account " DEV_ACCOUNT " is served with its\n"
          "well-known key, path-style: http://127.0.0.1:10000/" DEV_ACCOUNT "/<container>/<blob>\n",
          f);
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
    struct http_config hc = {.metrics = 1};
    struct serve_settings set = {.metrics_port = -1, .web_port = -1, .per_address = -1};
    const char *env;
    struct store_config sc = {0};
    struct server srv = {0};
    void *const at[] = {[AT_HTTP] = &hc,
                        [AT_STORE] = &sc,
                        [AT_SERVER] = &srv,
                        [AT_SERVE] = &set,
                        [AT_LOG] = &log_threshold};
    struct http_app app;
    struct http_server *http = NULL, *monitor = NULL, *web = NULL;
    struct compactor *compactor = NULL;
    struct scrubber *scrubber = NULL;
    char path[4096];
    sigset_t sigs;
    int sig, fsync_on, rc = 1, err;

    switch (options_parse(serve_opts, at, argc, argv)) {
    case OPTIONS_OK:
        break;
    case OPTIONS_HELP:
        usage(stdout);
        cidr_list_free(srv.egress);
        cidr_list_free(set.trusted);
        return 0;
    case OPTIONS_USAGE:
        usage(stderr);
        /* fall through */
    case OPTIONS_BAD:
        cidr_list_free(srv.egress);
        cidr_list_free(set.trusted);
        return 2;
    }
    hc.trusted_proxies = set.trusted;
    fsync_on = set.fsync_mode == 0;
    if ((env = getenv("COBALT_ACCOUNTS")) == NULL)
        env = getenv("AZURITE_ACCOUNTS");
    if ((env && parse_accounts(env, ";", &srv) != 0) ||
        (set.accounts_file && load_accounts_file(set.accounts_file, &srv) != 0))
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
    if (set.versioning != NULL && set_versioning(&srv, set.versioning) != 0)
        return 2;
    /* Room for a pool of parallel clients behind one address (AzCopy opens up to 300), not for
     * one address to take every connection. */
    hc.max_per_address = set.per_address >= 0 ? (unsigned)set.per_address : hc.max_connections / 8;

    /* Signals are taken synchronously by this thread (sigwait below), so they are blocked
     * before any thread exists -- RocksDB starts its own in meta_open -- and every thread
     * inherits the mask: a SIGTERM during start-up then waits for a clean stop instead of
     * killing the process through a thread that does not block it. */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    if (mkdir(set.data_dir, 0755) != 0 && errno != EEXIST) {
        log_error("data dir %s: %s", set.data_dir, strerror(errno));
        return 1;
    }
    snprintf(path, sizeof(path), "%s/meta", set.data_dir);
    if (meta_open(path, fsync_on, 0, set.meta_cache, &srv.meta) != 0) {
        log_error("cannot open metadata in %s (is another cobalt using this data dir?)", path);
        goto out;
    }
    snprintf(path, sizeof(path), "%s/volumes", set.data_dir);
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
    if (eng_local_init(&srv.eng, srv.meta, srv.store) != 0) { /* the object model over both */
        log_error("cannot start the storage engine: out of memory");
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
    if (set.metrics_port >= 0) {
        struct http_config mc = hc;
        struct http_app mapp;

        mc.port = set.metrics_port;
        mc.max_connections = 64;
        mc.max_per_address = mc.max_connections / 8;
        mc.metrics = 0; /* the API's figures, not the scrapes' */
        monitor_app(&mapp);
        if (http_start(&mc, &mapp, &monitor) != 0)
            goto out;
        log_info("metrics at http://%s:%d/metrics", hc.host, http_port(monitor));
    }
    if (set.web_port >= 0) { /* the static website (api/website.c) */
        struct http_config wc = hc;
        struct http_app wapp;

        wc.port = set.web_port;
        api_website_app(&srv, &wapp);
        if (http_start(&wc, &wapp, &web) != 0) {
            http_stop(monitor, 0);
            goto out;
        }
        log_info("static website at http://%s:%d/", hc.host, http_port(web));
    }
    if (http_start(&hc, &app, &http) != 0) {
        http_stop(web, 0);
        http_stop(monitor, 0);
        goto out;
    }
    __atomic_store_n(&srv.port, http_port(http), __ATOMIC_RELAXED); /* --port 0 */
    compactor = compactor_start(srv.meta, srv.store, set.threshold,
                                (sc.volume_size ? sc.volume_size : (1ull << 30)) / 4,
                                &srv.freed_bytes);
    if (set.scrub_rate > 0)
        scrubber = scrubber_start(srv.meta, srv.store, set.scrub_rate, set.scrub_interval);
    log_info("cobalt %s listening on http://%s:%d (data %s, fsync %s, %zu account%s)",
             COBALT_VERSION, hc.host, http_port(http), set.data_dir, fsync_on ? "always" : "never",
             srv.naccounts, srv.naccounts == 1 ? "" : "s");
    if (!fsync_on)
        log_warn("--fsync=never: a crash can lose acknowledged writes");
    sigwait(&sigs, &sig);
    log_info("signal %d: finishing in-flight requests", sig);
    http_stop(http, 30);
    http_stop(web, 30);
    http_stop(monitor, 0);
    compactor_stop(compactor);
    scrubber_stop(scrubber);
    rc = 0;
out:
    copy_pool_stop(&srv); /* after http_stop: no request can start a copy any more */
    eng_fini(&srv.eng);
    store_close(srv.store);
    meta_close(srv.meta);
    for (size_t i = 0; i < srv.naccounts; i++)
        free((char *)srv.accounts[i].name);
    free(srv.accounts);
    free(srv.versioning);
    cidr_list_free(srv.egress);
    cidr_list_free(set.trusted);
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
        if (argc > 2 && strcmp(argv[2], "--markdown") == 0)
            options_markdown(serve_opts, stdout); /* README.md's table */
        else
            usage(stdout);
        return 0;
    }
    fprintf(stderr, "cobalt: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
