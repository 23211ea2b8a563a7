/*
 * test_options.c -- the table-driven option parser (util/options.h): defaults, bounds and strict
 * whole numbers, scaled sizes, reals, choices, repeatable options, the refusals printed (stderr is
 * captured), getopt's errors and --help, and the --help and markdown renderings.  The rows below
 * mirror the shapes of serve's table in src/main.c.
 */
#include "util/options.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

enum { AT_A, AT_B };

struct a {
    const char *host;
    int port;
    unsigned secs;
    uint64_t bytes;
    double frac;
    unsigned mode;
};

struct lists {
    int n;
    char text[64];
};

struct b {
    long long per; /* -1: unset */
    struct lists lists;
};

static const char *const modes[] = {"always", "never", NULL};

/* Repeatable: appends each list; "bad" is refused. */
static int
add_list(void *field, const char *arg)
{
    struct lists *l = field;

    if (strcmp(arg, "bad") == 0)
        return -1;
    l->n++;
    strncat(l->text, arg, sizeof(l->text) - strlen(l->text) - 1);
    return 0;
}

/* clang-format off */
static const struct opt table[] = {
    {.name = "host", .arg = "ADDR", .kind = OPT_STRING, OPT_AT(AT_A, struct a, host),
     .def = "127.0.0.1", .help = "address", .doc = "IPv4 or IPv6 address"},
    {.name = "port", .arg = "N", .kind = OPT_UINT, .hi = 65535, OPT_AT(AT_A, struct a, port),
     .def = "10000", .err = "bad --%s %s", .help = "port"},
    {.name = "wait", .arg = "SECS", .kind = OPT_UINT, .lo = 1, .hi = 86400, .unit = "seconds",
     OPT_AT(AT_A, struct a, secs), .def = "30", .help = "how long"},
    {.name = "cache", .arg = "MIB", .kind = OPT_UINT, .lo = 8, .hi = 1 << 22, .scale = 1 << 20,
     .unit = "MiB", OPT_AT(AT_A, struct a, bytes), .def = "256", .help = "memory"},
    {.name = "frac", .arg = "F", .kind = OPT_REAL, .hi = 1, OPT_AT(AT_A, struct a, frac),
     .def = "0.3", .help = "a fraction"},
    {.name = "fsync", .arg = "always|never", .kind = OPT_ENUM, .choices = modes,
     OPT_AT(AT_A, struct a, mode), .def = "always",
     .help = "a long text that has to be wrapped over more than one line of the help output "
             "because it goes on and on",
     .doc = "`never` is fast"},
    {.name = "connections-per-address", .arg = "N", .kind = OPT_UINT, .hi = 65536,
     OPT_AT(AT_B, struct b, per), .def_text = "an eighth of `--max`", .help = "per address"},
    {.name = "allow", .arg = "LIST", .kind = OPT_EACH, .each = add_list,
     OPT_AT(AT_B, struct b, lists), .err = "--%s: '%s' refused", .help = "repeatable"},
    {0}};
/* clang-format on */

static struct a A;
static struct b B;
static char err[512];

/* Parses the NULL-terminated arguments after "serve" into fresh A and B; what was printed on
 * stderr is left in err[]. */
static enum options_result
parse(const char *first, ...)
{
    char *argv[32] = {"serve"};
    void *const at[] = {[AT_A] = &A, [AT_B] = &B};
    int argc = 1, saved, fd;
    enum options_result res;
    FILE *tmp = tmpfile();
    va_list ap;
    size_t n;

    va_start(ap, first);
    for (const char *s = first; s != NULL && argc < 31; s = va_arg(ap, const char *))
        argv[argc++] = (char *)s;
    va_end(ap);
    memset(&A, 0, sizeof(A));
    memset(&B, 0, sizeof(B));
    B.per = -1;
    fflush(stderr);
    saved = dup(2);
    fd = fileno(tmp);
    dup2(fd, 2);
    res = options_parse(table, at, argc, argv);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    n = fread(err, 1, sizeof(err) - 1, tmp);
    err[n] = '\0';
    fclose(tmp);
    return res;
}

static void
test_defaults(void)
{
    CHECK(parse(NULL) == OPTIONS_OK);
    CHECK_STR(A.host, "127.0.0.1");
    CHECK(A.port == 10000);
    CHECK(A.secs == 30);
    CHECK(A.bytes == 256ull << 20);
    CHECK(A.frac == 0.3);
    CHECK(A.mode == 0);
    CHECK(B.per == -1); /* no def: the caller's value stays */
    CHECK(B.lists.n == 0);
    CHECK_STR(err, "");
}

static void
test_whole_numbers(void)
{
    CHECK(parse("--port", "0", NULL) == OPTIONS_OK && A.port == 0);
    CHECK(parse("--port", "65535", NULL) == OPTIONS_OK && A.port == 65535);
    CHECK(parse("--port=8080", NULL) == OPTIONS_OK && A.port == 8080);
    CHECK(parse("--po", "81", NULL) == OPTIONS_OK && A.port == 81); /* getopt abbreviation */
    CHECK(parse("--port", "65536", NULL) == OPTIONS_BAD);
    CHECK_STR(err, "cobalt: bad --port 65536\n");
    static const char *const bad[] = {
        "", "abc", "-1", "+1", " 1", "1x", "0x10", "1.0", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(parse("--port", bad[i], NULL) == OPTIONS_BAD && A.port == 10000);

    CHECK(parse("--wait", "1", NULL) == OPTIONS_OK && A.secs == 1);
    CHECK(parse("--wait", "86400", NULL) == OPTIONS_OK && A.secs == 86400);
    CHECK(parse("--wait", "0", NULL) == OPTIONS_BAD);
    CHECK_STR(err, "cobalt: --wait must be 1..86400 seconds\n");
    CHECK(parse("--wait", "86401", NULL) == OPTIONS_BAD);

    /* Scaled into an 8-byte field, beyond 32 bits. */
    CHECK(parse("--cache", "4194304", NULL) == OPTIONS_OK && A.bytes == 4194304ull << 20);
    CHECK(parse("--cache", "7", NULL) == OPTIONS_BAD);
    CHECK_STR(err, "cobalt: --cache must be 8..4194304 MiB\n");

    /* An 8-byte signed field keeps its -1 until given, then holds the value. */
    CHECK(parse("--connections-per-address", "0", NULL) == OPTIONS_OK && B.per == 0);
    CHECK(parse("--connections-per-address", "65536", NULL) == OPTIONS_OK && B.per == 65536);
    CHECK(parse("--connections-per-address", "65537", NULL) == OPTIONS_BAD && B.per == -1);
    CHECK_STR(err, "cobalt: --connections-per-address must be 0..65536\n");
}

static void
test_reals_and_choices(void)
{
    CHECK(parse("--frac", "0", NULL) == OPTIONS_OK && A.frac == 0);
    CHECK(parse("--frac", "1", NULL) == OPTIONS_OK && A.frac == 1);
    CHECK(parse("--frac", "0.05", NULL) == OPTIONS_OK && A.frac == 0.05);
    static const char *const bad[] = {"", "x", "1.5", "-0.1", "nan", "0.5x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(parse("--frac", bad[i], NULL) == OPTIONS_BAD);
    CHECK_STR(err, "cobalt: --frac must be between 0 and 1\n");

    CHECK(parse("--fsync", "never", NULL) == OPTIONS_OK && A.mode == 1);
    CHECK(parse("--fsync", "always", NULL) == OPTIONS_OK && A.mode == 0);
    CHECK(parse("--fsync", "sometimes", NULL) == OPTIONS_BAD);
    CHECK_STR(err, "cobalt: --fsync must be always or never\n");
}

static void
test_repeats_and_errors(void)
{
    /* The last of a repeated option wins; a repeatable one takes every occurrence. */
    CHECK(parse("--host", "a", "--host", "b", NULL) == OPTIONS_OK);
    CHECK_STR(A.host, "b");
    CHECK(parse("--allow", "x,", "--allow", "y", NULL) == OPTIONS_OK && B.lists.n == 2);
    CHECK_STR(B.lists.text, "x,y");
    CHECK(parse("--allow", "x", "--allow", "bad", NULL) == OPTIONS_BAD && B.lists.n == 1);
    CHECK_STR(err, "cobalt: --allow: 'bad' refused\n");

    /* Parsing stops at the first refusal. */
    CHECK(parse("--port", "99999", "--wait", "5", NULL) == OPTIONS_BAD && A.secs == 30);

    CHECK(parse("--no-such", NULL) == OPTIONS_USAGE);
    CHECK(strstr(err, "--no-such") != NULL);
    CHECK(parse("--port", NULL) == OPTIONS_USAGE);
    CHECK(parse("--help", NULL) == OPTIONS_HELP);
    CHECK(parse("--wait", "5", "stray", NULL) == OPTIONS_OK && A.secs == 5); /* ignored */
}

/* What `fn` renders of the table. */
static char *
render(void (*fn)(const struct opt *, FILE *))
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    fn(table, f);
    fclose(f);
    return text;
}

static void
test_rendering(void)
{
    char *help = render(options_help), *md = render(options_markdown);

    CHECK(strstr(help, "  --host ADDR            address (default 127.0.0.1)\n") != NULL);
    /* Wrapped under the help column, within 80 columns; the default's backticks dropped. */
    CHECK(strstr(help, "  --fsync always|never   a long text that has to be wrapped over more "
                       "than one\n                         line") != NULL);
    CHECK(strstr(help,
                 "  --connections-per-address N\n"
                 "                         per address (default an eighth of --max)\n") != NULL);
    for (char *line = help; line != NULL && *line != '\0'; line = strchr(line, '\n') + 1)
        CHECK(strcspn(line, "\n") < 80);

    CHECK(strncmp(md, "| option | default | |\n|---|---|---|\n", 36) == 0);
    CHECK(strstr(md, "| `--host ADDR` | `127.0.0.1` | IPv4 or IPv6 address |\n") != NULL);
    CHECK(strstr(md, "| `--fsync always\\|never` | `always` | `never` is fast |\n") != NULL);
    CHECK(strstr(md, "| `--connections-per-address N` | an eighth of `--max` | per address |\n") !=
          NULL);
    CHECK(strstr(md, "| `--allow LIST` | | repeatable |\n") != NULL);
    free(help);
    free(md);
}

int
main(void)
{
    test_defaults();
    test_whole_numbers();
    test_reals_and_choices();
    test_repeats_and_errors();
    test_rendering();
    return check_report("test_options");
}
