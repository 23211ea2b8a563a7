/*
 * main.c -- the command line: cobalt serve | config check | fsck | compact | bench | version |
 * help.
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
#include <sys/random.h>
#include <sys/stat.h>

#include "admin/admin.h"
#include "admin/compact.h"
#include "admin/monitor.h"
#include "admin/scrub.h"
#include "api/api.h"
#include "api/fetch.h"
#include "bench/bench.h"
#include "engine/engine.h"
#include "engine/local_maint.h"
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
    char *config_text; /* --config: the file's text, which string options borrow */
    const char *data_dir, *accounts_file, *versioning;
    unsigned fsync_mode;                                        /* index in fsync_modes */
    unsigned backend;                                           /* index in backends */
    const char *ceph_conf, *ceph_user, *pool_index, *pool_data; /* --backend rados */
    unsigned long long stripe;                                  /* --backend rados: bytes */
    double threshold;                                           /* background compaction; 0: off */
    unsigned long long scrub_rate;                              /* bytes per second; 0: no scrub */
    unsigned scrub_interval;                                    /* seconds */
    unsigned merge_delay;                                       /* seconds */
    size_t meta_cache;                                          /* bytes */
    int metrics_port;                                           /* -1: no metrics listener */
    int https_port;                                             /* -1: no HTTPS listener */
    const char *tls_cert, *tls_key;
    const char *host_suffix;
    int web_port;              /* -1: no static website listener */
    long long per_address;     /* -1: an eighth of --max-connections */
    struct cidr_list *trusted; /* --trusted-proxy */
};

static const char *const fsync_modes[] = {"always", "never", NULL};
enum { BACKEND_LOCAL, BACKEND_MEMORY, BACKEND_RADOS };
static const char *const backends[] = {"local", "memory", "rados", NULL};

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

static int parse_accounts(const char *spec, const char *seps, struct server *srv);

/* --account NAME:KEY1[:KEY2], repeatable; the field is the whole struct server. */
static int
add_account(void *field, const char *spec)
{
    return parse_accounts(spec, "", field);
}

/* The directory --issuer, --role and --delegation-secret add to, made on first use. */
static struct auth_directory *
directory(void *field)
{
    struct auth_directory **d = field;

    if (*d == NULL && (*d = auth_directory_new()) == NULL)
        fprintf(stderr, "cobalt: out of memory\n");
    return *d;
}

/* The whole of a small file (a JWKS), NUL-terminated, or NULL (said on stderr). */
static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text = NULL;
    size_t cap = 0;

    if (f == NULL || getdelim(&text, &cap, '\0', f) < 0) {
        fprintf(stderr, "cobalt: %s: %s\n", path, f == NULL ? strerror(errno) : "empty");
        free(text);
        text = NULL;
    }
    if (f != NULL)
        fclose(f);
    return text;
}

/* --issuer "ISSUER jwks=FILE [audience=AUD]...", repeatable. */
static int
add_issuer(void *field, const char *spec)
{
    struct auth_directory *d = directory(field);
    char *copy = strdup(spec), *save = NULL, *w, *iss, *jwks_path = NULL, *jwks = NULL;
    const char *auds[16];
    size_t naud = 0;
    char err[512];
    int rc = -1;

    if (d == NULL || copy == NULL || (iss = strtok_r(copy, " \t", &save)) == NULL)
        goto out;
    while ((w = strtok_r(NULL, " \t", &save)) != NULL) {
        if (strncmp(w, "jwks=", 5) == 0 && jwks_path == NULL)
            jwks_path = w + 5;
        else if (strncmp(w, "audience=", 9) == 0 && naud < 16)
            auds[naud++] = w + 9;
        else
            goto out;
    }
    if (jwks_path == NULL || (jwks = slurp(jwks_path)) == NULL)
        goto out;
    if ((rc = auth_issuer_add(d, iss, jwks, auds, naud, err, sizeof(err))) != 0)
        fprintf(stderr, "cobalt: %s (%s)\n", err, jwks_path);
out:
    free(jwks);
    free(copy);
    return rc;
}

/* --role "PRINCIPAL ROLE SCOPE", repeatable. */
static int
add_role(void *field, const char *spec)
{
    struct auth_directory *d = directory(field);
    char err[512];

    if (d == NULL)
        return -1;
    if (auth_role_add(d, spec, err, sizeof(err)) != 0) {
        fprintf(stderr, "cobalt: %s\n", err);
        return -1;
    }
    return 0;
}

/* --delegation-secret BASE64: 16 to 64 bytes. */
static int
set_delegation_secret(void *field, const char *b64)
{
    struct auth_directory *d = directory(field);
    long n = strlen(b64) <= 88 ? base64_decode(b64, strlen(b64), d ? d->secret : NULL) : -1;

    if (d == NULL || n < 16)
        return -1;
    d->secretlen = (size_t)n;
    return 0;
}

#define SECONDS(lo_, hi_) .kind = OPT_UINT, .lo = (lo_), .hi = (hi_), .unit = "seconds"

/* serve's options, in the order of --help and README.md's table (scripts/update-readme-options.sh
 * writes that table from `cobalt help --markdown`; ctest checks that it is current). */
/* clang-format off */
static const struct opt serve_opts[] = {
    {.name = "config", .arg = "FILE", .kind = OPT_FILE,
     OPT_AT(AT_SERVE, struct serve_settings, config_text),
     .help = "read options from FILE, one 'name = value' per line; the command line overrides it",
     .doc = "read options from FILE, one `name = value` per line (any option below, without the "
            "dashes; `#` at the start of a line or after white space starts a comment); options "
            "on the command line override it, repeatable ones add to it. `cobalt config check "
            "FILE` validates one"},
    {.name = "host", .arg = "ADDR", .kind = OPT_STRING, OPT_AT(AT_HTTP, struct http_config, host),
     .def = "127.0.0.1", .help = "address to listen on",
     .doc = "IPv4 or IPv6 address to listen on"},
    {.name = "port", .arg = "N", .kind = OPT_UINT, .hi = 65535,
     OPT_AT(AT_HTTP, struct http_config, port), .def = "10000", .err = "bad --%s %s",
     .help = "port; 0 picks a free one", .doc = "`0` picks a free port"},
    {.name = "host-suffix", .arg = "SUFFIX", .kind = OPT_STRING,
     OPT_AT(AT_SERVE, struct serve_settings, host_suffix), .def_text = "none",
     .help = "also address accounts host-style: ACCOUNT.SUFFIX and ACCOUNT-secondary.SUFFIX",
     .doc = "also address accounts host-style, as Azure does: a request whose `Host` is "
            "`ACCOUNT.SUFFIX` (or `ACCOUNT-secondary.SUFFIX`) addresses that account, and its path "
            "starts at the container; path-style URLs keep working"},
    {.name = "https-port", .arg = "N", .kind = OPT_UINT, .hi = 65535,
     OPT_AT(AT_SERVE, struct serve_settings, https_port), .def_text = "off", .err = "bad --%s %s",
     .help = "also serve HTTPS on this port (needs --tls-cert and --tls-key); 0 picks a free one",
     .doc = "also serve HTTPS (TLS 1.2 and 1.3) on this port, same address, same data: needs "
            "`--tls-cert` and `--tls-key`; bearer tokens and `spr=https` SASes work only there "
            "(`0` picks a free port)"},
    {.name = "tls-cert", .arg = "FILE", .kind = OPT_STRING,
     OPT_AT(AT_SERVE, struct serve_settings, tls_cert),
     .help = "PEM certificate chain for HTTPS, leaf first; re-read on SIGHUP",
     .doc = "PEM certificate chain for HTTPS, leaf first; SIGHUP re-reads it and the key "
            "(connections already open are not touched)"},
    {.name = "tls-key", .arg = "FILE", .kind = OPT_STRING,
     OPT_AT(AT_SERVE, struct serve_settings, tls_key),
     .help = "PEM private key of --tls-cert (unencrypted); re-read on SIGHUP",
     .doc = "PEM private key of `--tls-cert` (unencrypted; keep it readable by Cobalt only)"},
    {.name = "issuer", .arg = "'ISS jwks=FILE [audience=AUD]...'", .kind = OPT_EACH,
     .each = add_issuer, OPT_AT(AT_SERVER, struct server, dir), .def_text = "none",
     .err = "--%s takes 'ISSUER jwks=FILE [audience=AUD]...' with a JWKS of RS256/ES256 keys: "
            "'%s'",
     .help = "trust OAuth tokens whose iss is ISS, signed by a key of the JWKS file FILE (read at "
             "start and on SIGHUP); repeatable",
     .doc = "trust OAuth bearer tokens (JWT, RS256 or ES256) whose `iss` is ISS and that a key of "
            "the JWKS file FILE signed; the audience must be `https://storage.azure.com`, "
            "`https://ACCOUNT.blob.core.windows.net`, `https://ACCOUNT.SUFFIX` (`--host-suffix`) "
            "or an AUD given here. Read at start and on SIGHUP: no network call. Repeatable"},
    {.name = "role", .arg = "'PRINCIPAL ROLE SCOPE'", .kind = OPT_EACH, .each = add_role,
     OPT_AT(AT_SERVER, struct server, dir), .def_text = "none",
     .err = "--%s takes 'oid:ID|sub:ID|group:ID Owner|Contributor|Reader|Delegator "
            "ACCOUNT[/CONTAINER]': '%s'",
     .help = "assign a role to a token's principal (oid:ID, sub:ID or group:ID) at an account or "
             "account/container; roles: Owner, Contributor, Reader, Delegator; repeatable",
     .doc = "assign a role (the Storage Blob Data `Owner`, `Contributor`, `Reader`, or "
            "`Delegator`) "
            "to a token's principal -- `oid:ID`, `sub:ID` or `group:ID` (the `groups` claim) -- at "
            "`ACCOUNT` or `ACCOUNT/CONTAINER` (repeatable; docs/security.md)"},
    {.name = "delegation-secret", .arg = "BASE64", .kind = OPT_EACH,
     .each = set_delegation_secret, OPT_AT(AT_SERVER, struct server, dir), .secret = 1,
     .def_text = "random at each start",
     .err = "--%s takes 16 to 64 bytes in base64",
     .help = "the secret user delegation keys are derived from; changing it revokes every key "
             "and user delegation SAS",
     .doc = "the secret user delegation keys are derived from (16-64 bytes, base64); changing it "
            "(and SIGHUP) revokes every user delegation key and SAS. Without it a random one is "
            "made at each start"},
    {.name = "data-dir", .arg = "DIR", .kind = OPT_STRING,
     OPT_AT(AT_SERVE, struct serve_settings, data_dir), .def = "./cobalt-data",
     .help = "where data lives",
     .doc = "RocksDB metadata in `DIR/meta`, volumes in `DIR/volumes`"},
    {.name = "log-level", .arg = "LEVEL", .kind = OPT_EACH, .each = set_log_level, .at = AT_LOG,
     .def = "info",
     .err = "--%s must be debug, info, warn or error",
     .help = "debug, info, warn or error", .doc = "`debug`, `info`, `warn`, `error`"},
    {.name = "backend", .arg = "local|memory|rados", .kind = OPT_ENUM, .choices = backends,
     OPT_AT(AT_SERVE, struct serve_settings, backend), .def = "local",
     .help = "where the data lives: 'local' (--data-dir), 'memory' (nothing survives a "
             "restart: tests and demos), or 'rados' (a Ceph cluster: --ceph-conf, --pool-index, "
             "--pool-data)",
     .doc = "where the data lives: `local` (RocksDB and volume files in `--data-dir`), `memory` "
            "(an in-memory engine: nothing survives a restart, for tests and demos), or `rados` "
            "(a Ceph cluster shared by any number of gateways: docs/rados.md)"},
    {.name = "ceph-conf", .arg = "FILE", .kind = OPT_STRING,
     OPT_AT(AT_SERVE, struct serve_settings, ceph_conf), .def = "/etc/ceph/ceph.conf",
     .help = "--backend rados: the cluster's ceph.conf (monitors, keyring)",
     .doc = "`--backend rados`: the cluster's `ceph.conf` (monitor addresses, keyring)"},
    {.name = "ceph-user", .arg = "NAME", .kind = OPT_STRING,
     OPT_AT(AT_SERVE, struct serve_settings, ceph_user), .def = "admin",
     .help = "--backend rados: the cephx user (NAME or client.NAME)",
     .doc = "`--backend rados`: the cephx user, `NAME` or `client.NAME`"},
    {.name = "pool-index", .arg = "NAME", .kind = OPT_STRING,
     OPT_AT(AT_SERVE, struct serve_settings, pool_index), .def = "cobalt-index",
     .help = "--backend rados: the existing pool of the indexes (replicated: omap)",
     .doc = "`--backend rados`: the existing pool of accounts, containers and blob indexes "
            "(replicated: it holds omap)"},
    {.name = "pool-data", .arg = "NAME", .kind = OPT_STRING,
     OPT_AT(AT_SERVE, struct serve_settings, pool_data), .def = "cobalt-data",
     .help = "--backend rados: the existing pool of blob contents",
     .doc = "`--backend rados`: the existing pool of blob contents (replicated or erasure-coded)"},
    {.name = "stripe-size", .arg = "KIB", .kind = OPT_UINT, .lo = 64, .hi = 65536, .scale = 1 << 10,
     .unit = "KiB", OPT_AT(AT_SERVE, struct serve_settings, stripe), .def = "4096",
     .help = "--backend rados: blob contents are striped over data objects of this size, a power "
             "of two",
     .doc = "`--backend rados`: blob contents are striped over data objects of this size, a power "
            "of two (64 KiB to 64 MiB; one write op each, at most two in flight per upload). "
            "Each blob keeps the size it was written with, so changing it needs no migration"},
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
    {.name = "account", .arg = "NAME:KEY1[:KEY2]", .kind = OPT_EACH, .each = add_account,
     .at = AT_SERVER, .secret = 1,
     .err = "--%s takes NAME:KEY1[:KEY2] with base64 keys of at most 64 bytes",
     .def_text = "`devstoreaccount1` when no account is given",
     .help = "serve this account with these keys (base64); repeatable",
     .doc = "serve this account with one or two base64 keys (repeatable; in a config file keeps "
            "keys off the command line). Keys are never logged"},
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
    {.name = "page-merge-delay", .arg = "SECS", SECONDS(0, 86400 * 7),
     OPT_AT(AT_SERVE, struct serve_settings, merge_delay), .def = "3600",
     .help = "merge a page blob's page map layers this long after a change left them mergeable",
     .doc = "how long after a change leaves a page blob's page map layers mergeable (a snapshot "
            "deleted, a clear over many runs) the background round merges them; reads begun "
            "before on the old layers should end within it (docs/storage.md, \"Page blobs\")"},
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
            "       cobalt fsck [--repair] --backend rados [--config FILE | rados options]\n"
            "                                   the same over the RADOS pools, both ways\n"
            "       cobalt gc --backend rados [--config FILE | rados options]\n"
            "                                   work the purge and GC lists now\n"
            "       cobalt compact [--threshold F] DIR  reclaim dead space now (server stopped;\n"
            "                                   default threshold 0.05)\n"
            "       cobalt bench WORKLOAD [opts] load-test any Blob endpoint ('bench --help')\n"
            "       cobalt config check FILE   validate a --config file, naming a bad line\n"
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
        if (rc != 0 || a->name == NULL) {
            free((char *)a->name); /* the entry is not kept */
            rc = -1;
            break;
        }
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

/* Everything serve() reads from its options, the environment and the files they name. */
struct settings {
    struct http_config hc;
    struct serve_settings set;
    struct store_config sc;
    struct server srv;
    struct settings *retired; /* what SIGHUP replaced (requests may still use it): freed at exit */
};

static void
settings_free(struct settings *st)
{
    if (st->retired != NULL) {
        settings_free(st->retired);
        free(st->retired);
    }
    auth_directory_free(st->srv.dir);
    for (size_t i = 0; i < st->srv.naccounts; i++)
        free((char *)st->srv.accounts[i].name);
    free(st->srv.accounts);
    free(st->srv.versioning);
    cidr_list_free(st->srv.egress);
    cidr_list_free(st->set.trusted);
    free(st->set.config_text);
    memset(st, 0, sizeof(*st));
}

/*
 * Fills st from the options (a --config file first, then the command line), the environment and
 * the files they name, and checks that they make a server.  0; or an exit status (0 after --help,
 * 2 for a refused setting, said on stderr or in the log); st is freed with settings_free() either
 * way.  `cobalt serve` and `cobalt config check` both come through here.
 */
static int
configure(int argc, char **argv, struct settings *st, int *done)
{
    void *const at[] = {[AT_HTTP] = &st->hc,
                        [AT_STORE] = &st->sc,
                        [AT_SERVER] = &st->srv,
                        [AT_SERVE] = &st->set,
                        [AT_LOG] = &log_threshold};
    struct server *srv = &st->srv;
    const char *env;

    memset(st, 0, sizeof(*st));
    st->hc.metrics = 1;
    st->set.metrics_port = -1;
    st->set.https_port = -1;
    st->set.web_port = -1;
    st->set.per_address = -1;
    *done = 1;
    switch (options_parse(serve_opts, at, argc, argv)) {
    case OPTIONS_OK:
        break;
    case OPTIONS_HELP:
        usage(stdout);
        return 0;
    case OPTIONS_USAGE:
        usage(stderr);
        return 2;
    case OPTIONS_BAD:
        return 2;
    }
    st->hc.trusted_proxies = st->set.trusted;
    st->hc.host_suffix = st->set.host_suffix;
    if ((env = getenv("COBALT_ACCOUNTS")) == NULL)
        env = getenv("AZURITE_ACCOUNTS");
    if ((env && parse_accounts(env, ";", srv) != 0) ||
        (st->set.accounts_file && load_accounts_file(st->set.accounts_file, srv) != 0))
        return 2;
    if (srv->naccounts == 0 && parse_accounts(DEV_ACCOUNT ":" DEV_KEY, ";", srv) != 0)
        return 1;
    if ((srv->versioning = calloc(srv->naccounts, 1)) == NULL)
        return 1;
    if (st->set.versioning != NULL && set_versioning(srv, st->set.versioning) != 0)
        return 2;
    if ((st->set.https_port >= 0) != (st->set.tls_cert != NULL) ||
        (st->set.tls_cert != NULL) != (st->set.tls_key != NULL)) {
        fprintf(stderr, "cobalt: --https-port, --tls-cert and --tls-key go together\n");
        return 2;
    }
    if (st->set.tls_cert != NULL && http_tls_check(st->set.tls_cert, st->set.tls_key) != 0)
        return 2;
    if ((st->set.stripe & (st->set.stripe - 1)) != 0) {
        fprintf(stderr, "cobalt: --stripe-size must be a power of two (64, 128, ... 65536)\n");
        return 2;
    }
    if (srv->dir != NULL && srv->dir->secretlen == 0) {
        /* No --delegation-secret: keys issued now die with the process. */
        if (getrandom(srv->dir->secret, 32, 0) != 32)
            return 1;
        srv->dir->secretlen = 32;
    }
    if (srv->dir != NULL)
        srv->dir->host_suffix = st->set.host_suffix;
    /* Room for a pool of parallel clients behind one address (AzCopy opens up to 300), not for
     * one address to take every connection. */
    st->hc.max_per_address = st->set.per_address >= 0 ? (unsigned)st->set.per_address
                                                      : st->hc.max_connections / 8;
    *done = 0;
    return 0;
}

/* 1 when both settings name the same accounts in the same order (their indexes are the accounts'
 * identity for per-account state). */
static int
same_accounts(const struct server *a, const struct server *b)
{
    if (a->naccounts != b->naccounts)
        return 0;
    for (size_t i = 0; i < a->naccounts; i++)
        if (strcmp(a->accounts[i].name, b->accounts[i].name) != 0)
            return 0;
    return 1;
}

/*
 * SIGHUP: the configuration is read again (the --config file, the accounts file and environment,
 * the JWKS files) and what can change without a restart takes effect for the next request: the
 * accounts' keys (add a second key, move clients, drop the first), the token issuers, role
 * assignments and delegation secret, the log level, and the HTTPS certificate and key
 * (connections already open are not touched).  Anything refused is logged and the current
 * configuration kept whole.  The replaced keys and directory stay allocated until exit: a request
 * in flight may still be reading them.
 */
static void
reload(struct settings *live, int argc, char **argv, struct http_server *https)
{
    struct settings *next = calloc(1, sizeof(*next));
    struct auth_account *accounts;
    struct auth_directory *dir;
    int done;

    log_info("SIGHUP: reloading the configuration");
    if (next == NULL)
        return;
    if (configure(argc, argv, next, &done) != 0 || done) {
        log_error("SIGHUP: the configuration is refused (see above); keeping the current one");
        goto drop;
    }
    if (!same_accounts(&live->srv, &next->srv)) {
        log_error("SIGHUP: accounts can change keys, but adding or removing one needs a "
                  "restart; keeping the current configuration");
        goto drop;
    }
    if (https != NULL && http_tls_reload(https) == 0)
        log_info("tls: certificate reloaded");
    accounts = live->srv.accounts;
    dir = live->srv.dir;
    __atomic_store_n(&live->srv.accounts, next->srv.accounts, __ATOMIC_RELEASE);
    __atomic_store_n(&live->srv.dir, next->srv.dir, __ATOMIC_RELEASE);
    next->srv.accounts = accounts;
    next->srv.dir = dir;
    next->retired = live->retired;
    live->retired = next;
    log_info("SIGHUP: keys, issuers and roles reloaded");
    return;
drop:
    settings_free(next);
    free(next);
}

/* cobalt config check FILE: 0 when FILE makes a server, else 2 with the bad line named. */
static int
config_check(int argc, char **argv)
{
    struct settings st;
    char *args[] = {"config", "--config", NULL, NULL};
    int done, rc;

    if (argc != 3 || strcmp(argv[1], "check") != 0) {
        fprintf(stderr, "usage: cobalt config check FILE\n");
        return 2;
    }
    args[2] = argv[2];
    rc = configure(3, args, &st, &done);
    if (!done)
        printf("%s: ok (%zu account%s)\n", argv[2], st.srv.naccounts,
               st.srv.naccounts == 1 ? "" : "s");
    settings_free(&st);
    return done && rc == 0 ? 2 : rc;
}

/* The local engine: metadata and volumes in the data directory (what a crash interrupted is
 * finished first).  0, or -1 (logged); what was opened is in srv for the caller to close. */
static int
open_local(const struct serve_settings *set, struct store_config *sc, struct server *srv,
           int fsync_on)
{
    char path[4096];
    int err;

    if (mkdir(set->data_dir, 0755) != 0 && errno != EEXIST) {
        log_error("data dir %s: %s", set->data_dir, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof(path), "%s/meta", set->data_dir);
    if (meta_open(path, fsync_on, 0, set->meta_cache, &srv->meta) != 0) {
        log_error("cannot open metadata in %s (is another cobalt using this data dir?)", path);
        return -1;
    }
    snprintf(path, sizeof(path), "%s/volumes", set->data_dir);
    sc->dir = path;
    sc->fsync = fsync_on;
#ifdef COBALT_FAULT_INJECTION
    {
        /* Test builds only (tests/crash): failures and simulated power loss in the volume I/O. */
        const char *env = getenv("COBALT_IO_FAULTS");
        if (env != NULL && (sc->io = faultio_setup(env)) == NULL) {
            log_error("COBALT_IO_FAULTS: cannot parse '%s'", env);
            return -1;
        }
    }
#endif
    if ((err = store_open(sc, &srv->store)) != 0) {
        log_error("cannot open volumes in %s: %s", path, strerror(err));
        return -1;
    }
    sc->dir = NULL; /* the store keeps its own copy */
    if ((err = compact_recover(srv->meta, srv->store)) != 0) {
        log_error("cannot finish an interrupted compaction: %s", strerror(err));
        return -1;
    }
    if (eng_local_init(&srv->eng, srv->meta, srv->store) != 0) { /* the object model over both */
        log_error("cannot start the storage engine: out of memory");
        return -1;
    }
    return 0;
}

static int
serve(int argc, char **argv)
{
    struct settings st;
    struct http_config *hc = &st.hc;
    struct serve_settings *set = &st.set;
    struct store_config *sc = &st.sc;
    struct server *srv = &st.srv;
    const char *env;
    struct http_app app;
    struct http_server *http = NULL, *https = NULL, *monitor = NULL, *web = NULL;
    struct compactor *compactor = NULL;
    struct scrubber *scrubber = NULL;
    sigset_t sigs;
    char where[600];
    int sig, fsync_on, rc, err, done;

    if ((rc = configure(argc, argv, &st, &done)) != 0 || done) {
        settings_free(&st);
        return rc;
    }
    rc = 1;
    fsync_on = set->fsync_mode == 0;
    /* Tests shorten retention "days" so soft-delete purges can be observed; never in production. */
    srv->day_ticks = 86400 * TICKS_PER_SEC;
    if ((env = getenv("COBALT_DAY_SECONDS")) != NULL && atoll(env) > 0) {
        srv->day_ticks = atoll(env) * TICKS_PER_SEC;
        log_warn("COBALT_DAY_SECONDS=%s: retention days are %s seconds long (testing only)", env,
                 env);
    }

    /* Signals are taken synchronously by this thread (sigwait below), so they are blocked
     * before any thread exists -- RocksDB starts its own in meta_open -- and every thread
     * inherits the mask: a SIGTERM during start-up then waits for a clean stop instead of
     * killing the process through a thread that does not block it. */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP); /* reload: see reload() */
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    eng_set_merge_delay((int64_t)set->merge_delay * TICKS_PER_SEC);
    if (set->backend == BACKEND_MEMORY) {
        if (eng_memory_init(&srv->eng) != 0) {
            log_error("cannot start the storage engine: out of memory");
            goto out;
        }
        log_warn("--backend memory: nothing survives a restart");
    } else if (set->backend == BACKEND_RADOS) {
        if (eng_rados_init(&srv->eng, set->ceph_conf, set->ceph_user, set->pool_index,
                           set->pool_data) != 0 ||
            eng_rados_set_stripe(&srv->eng, set->stripe) != 0) {
            log_error("cannot start the RADOS engine (--ceph-conf %s, --pool-index %s, "
                      "--pool-data %s)",
                      set->ceph_conf, set->pool_index, set->pool_data);
            goto out;
        }
    } else if (open_local(set, sc, srv, fsync_on) != 0) {
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
    if ((err = copy_pool_start(srv)) != 0) {
        log_error("cannot start the copy workers: %s", strerror(err));
        goto out;
    }
    /* Dead space left before this start is unknown: the first check after start-up compacts.
     * (Set before any thread starts.) */
    srv->freed_bytes = (sc->volume_size ? sc->volume_size : (1ull << 30)) / 4;
    api_app(srv, &app);
    srv->port = hc->port;
    /* The metrics listener first: once the API port accepts connections, /metrics does too. */
    if (set->metrics_port >= 0) {
        struct http_config mc = *hc;
        struct http_app mapp;

        mc.port = set->metrics_port;
        mc.max_connections = 64;
        mc.max_per_address = mc.max_connections / 8;
        mc.metrics = 0; /* the API's figures, not the scrapes' */
        monitor_app(&mapp);
        if (http_start(&mc, &mapp, &monitor) != 0)
            goto out;
        log_info("metrics at http://%s:%d/metrics", hc->host, http_port(monitor));
    }
    if (set->https_port >= 0) {
        struct http_config tc = *hc;

        tc.port = set->https_port;
        tc.tls_cert = set->tls_cert;
        tc.tls_key = set->tls_key;
        if (http_start(&tc, &app, &https) != 0) {
            http_stop(monitor, 0);
            goto out;
        }
        log_info("listening on https://%s:%d", hc->host, http_port(https));
    }
    if (set->web_port >= 0) { /* the static website (api/website.c) */
        struct http_config wc = *hc;
        struct http_app wapp;

        wc.port = set->web_port;
        api_website_app(srv, &wapp);
        if (http_start(&wc, &wapp, &web) != 0) {
            http_stop(https, 0);
            http_stop(monitor, 0);
            goto out;
        }
        log_info("static website at http://%s:%d/", hc->host, http_port(web));
    }
    if (http_start(hc, &app, &http) != 0) {
        http_stop(web, 0);
        http_stop(https, 0);
        http_stop(monitor, 0);
        goto out;
    }
    __atomic_store_n(&srv->port, http_port(http), __ATOMIC_RELAXED); /* --port 0 */
    compactor = compactor_start(&srv->eng, srv->meta, srv->store, set->threshold,
                                (sc->volume_size ? sc->volume_size : (1ull << 30)) / 4,
                                &srv->freed_bytes);
    if (set->scrub_rate > 0 && srv->store != NULL)
        scrubber = scrubber_start(srv->meta, srv->store, set->scrub_rate, set->scrub_interval);
    if (set->backend == BACKEND_RADOS)
        snprintf(where, sizeof(where), "pools %s and %s", set->pool_index, set->pool_data);
    else
        snprintf(where, sizeof(where), "%s",
                 set->backend == BACKEND_MEMORY ? "in memory" : set->data_dir);
    log_info("cobalt %s listening on http://%s:%d (data %s, fsync %s, %zu account%s)",
             COBALT_VERSION, hc->host, http_port(http), where, fsync_on ? "always" : "never",
             srv->naccounts, srv->naccounts == 1 ? "" : "s");
    if (!fsync_on)
        log_warn("--fsync=never: a crash can lose acknowledged writes");
    while (sigwait(&sigs, &sig) == 0 && sig == SIGHUP)
        reload(&st, argc, argv, https);
    log_info("signal %d: finishing in-flight requests", sig);
    http_stop(https, 30);
    http_stop(http, 30);
    http_stop(web, 30);
    http_stop(monitor, 0);
    compactor_stop(compactor);
    scrubber_stop(scrubber);
    rc = 0;
out:
    copy_pool_stop(srv); /* after http_stop: no request can start a copy any more */
    eng_fini(&srv->eng);
    store_close(srv->store);
    meta_close(srv->meta);
    settings_free(&st);
    if (rc == 0)
        log_info("stopped cleanly");
    return rc;
}

/*
 * `cobalt fsck [--repair] [--quiet] ...` and `cobalt gc ...`: the engine is named as serve names it
 * (--backend and its options, on the command line or in a --config file), so an operator runs them
 * with the gateways' own configuration.  The local engine's fsck keeps its DATA_DIR argument
 * (admin/fsck.c); gc is the RADOS engine's (the local engine reclaims with `cobalt compact`).
 */
static int
maint(int argc, char **argv, int gc)
{
    struct settings st;
    void *const at[] = {[AT_HTTP] = &st.hc,
                        [AT_STORE] = &st.sc,
                        [AT_SERVER] = &st.srv,
                        [AT_SERVE] = &st.set,
                        [AT_LOG] = &log_threshold};
    char **args = calloc((size_t)argc + 1, sizeof(*args));
    int n = 0, repair = 0, quiet = 0, rc = 2;

    if (args == NULL)
        return 1;
    for (int i = 0; i < argc; i++) { /* the command's own flags, which serve does not know */
        if (!gc && strcmp(argv[i], "--repair") == 0)
            repair = 1;
        else if (!gc && strcmp(argv[i], "--quiet") == 0)
            quiet = 1;
        else
            args[n++] = argv[i];
    }
    memset(&st, 0, sizeof(st));
    switch (options_parse(serve_opts, at, n, args)) {
    case OPTIONS_OK:
        if (st.set.backend == BACKEND_RADOS) {
            struct rados_target t = {st.set.ceph_conf, st.set.ceph_user, st.set.pool_index,
                                     st.set.pool_data};
            rc = gc ? rados_gc_main(&t) : rados_fsck_main(&t, repair, quiet);
        } else if (gc) {
            fprintf(stderr, "cobalt gc: --backend rados only (the local engine reclaims space "
                            "with `cobalt compact`)\n");
        } else {
            rc = fsck_main(argc, argv);
        }
        break;
    case OPTIONS_HELP:
        usage(stdout);
        rc = 0;
        break;
    case OPTIONS_USAGE:
        usage(stderr);
        break;
    case OPTIONS_BAD:
        break;
    }
    settings_free(&st);
    free(args);
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
    if (strcmp(argv[1], "config") == 0)
        return config_check(argc - 1, argv + 1);
    if (strcmp(argv[1], "fsck") == 0 || strcmp(argv[1], "gc") == 0)
        return maint(argc - 1, argv + 1, argv[1][0] == 'g');
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
