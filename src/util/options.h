/*
 * options.h -- long command-line options described once, in a table of `struct opt` rows.  The
 * parser (getopt_long underneath), the --help text and the README's option table are all produced
 * from the rows, so an option's name, default, bounds and text cannot drift between them.
 *
 * A row says how its argument is parsed and checked (the kind, bounds, choices), the refusal
 * printed for a bad one, and where the value is stored: field `off` of the object that entry `at`
 * of the caller's array of pointers designates, so one table can fill several structs:
 *
 *     enum { AT_HTTP, AT_SERVER };
 *     static const struct opt serve_opts[] = {
 *         {.name = "port", .arg = "N", .kind = OPT_UINT, OPT_AT(AT_HTTP, struct http_config, port),
 *          .hi = 65535, .def = "10000", .help = "port to listen on"},
 *         {0}};
 *     void *at[] = {[AT_HTTP] = &hc, [AT_SERVER] = &srv};
 *     if (options_parse(serve_opts, at, argc, argv) != OPTIONS_OK) ...
 *
 * Values are checked strictly: a whole number is digits only, within [lo, hi]; a default (`def`)
 * is parsed like an argument, so the default shown is the one used.
 *
 * A configuration file (a row of kind OPT_FILE, e.g. --config FILE) holds the same options, one
 * per line, without the dashes:
 *
 *     # comment
 *     port = 10443            # a comment after white space
 *     account = acct1:KEY1:KEY2
 *
 * Each line is parsed by its row exactly as the command-line argument would be.  Order: defaults,
 * then the file, then the command line, so the command line overrides a file's value (a repeatable
 * OPT_EACH row adds to the file's values).  A bad line is refused as "FILE:LINE: ...", and the
 * argument of a row marked `secret` is never printed.
 */
#ifndef COBALT_OPTIONS_H
#define COBALT_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

enum opt_kind {
    OPT_STRING, /* the argument itself, stored as a const char * borrowed from argv (or def) */
    OPT_UINT,   /* a whole number in [lo, hi], stored times `scale` in a 4- or 8-byte field */
    OPT_REAL,   /* a number in [lo, hi], stored in a double */
    OPT_ENUM,   /* one of `choices`, stored as its index in an unsigned (or enum) field */
    OPT_EACH,   /* repeatable: each occurrence is handed to `each` with the field */
    OPT_FILE,   /* a configuration file of more options (see above), read before the command line;
                   its text (heap memory the values borrow; the caller frees it once done with
                   them) is stored in a char * field, which must start NULL; given once */
};

struct opt {
    const char *name; /* without the dashes; NULL ends the table */
    const char *arg;  /* what the argument is called in the help and README: "N", "SECS" */
    enum opt_kind kind;
    int at; /* the value goes into field `off` (of `width` bytes) of *at[at] */
    size_t off, width;
    unsigned long long lo, hi;  /* OPT_UINT, OPT_REAL: accepted range */
    unsigned long long scale;   /* OPT_UINT: the stored value is the argument times this (0: 1) */
    const char *unit;           /* OPT_UINT: unit of the range in the refusal: "seconds" */
    const char *const *choices; /* OPT_ENUM: names, NULL-terminated */
    int (*each)(void *field, const char *arg); /* OPT_EACH: non-zero refuses the argument */
    const char *def;      /* default, parsed as an argument first; NULL: field keeps its value */
    const char *def_text; /* the default as shown when `def` is NULL ("off"); markdown */
    /* The refusal of a bad argument, after "cobalt: ": a printf format given the option's name and
     * the argument, e.g. "bad --%s %s".  NULL: the kind's ("--%s must be LO..HI UNIT"). */
    const char *err;
    int secret;       /* the argument is a secret: refusals never print it */
    const char *help; /* the --help text: plain, without the default (added) */
    const char *doc;  /* the README text, markdown; NULL: `help` */
};

/* A row's place: OPT_AT(AT_HTTP, struct http_config, port). */
#define OPT_AT(at_, type, field) \
    .at = (at_), .off = offsetof(type, field), .width = sizeof(((type *)0)->field)

enum options_result {
    OPTIONS_OK,
    OPTIONS_HELP,  /* --help was given: the caller prints its usage */
    OPTIONS_USAGE, /* an unknown option or a missing argument; getopt_long said which */
    OPTIONS_BAD,   /* a refused argument; said which on stderr */
};

/*
 * Stores every row's default, reads the configuration file an OPT_FILE row names on the command
 * line (if any), then parses argv[1..argc-1] (argv[0] names the command in getopt's messages) into
 * the fields the rows designate, stopping at the first error.  An option given twice keeps the last
 * value, except OPT_EACH.  Arguments that are not options are ignored.  Stored strings are borrowed
 * from argv, the table and the file's text.  Uses getopt_long's global state.
 */
enum options_result options_parse(const struct opt *table, void *const *at, int argc, char **argv);

/*
 * Parses the configuration file `path` (format above) into the fields the rows designate, without
 * storing defaults first.  *text gets the file's text, which the stored strings borrow (the caller
 * frees it, also on failure).  OPTIONS_OK, or OPTIONS_BAD after printing "cobalt: PATH:LINE: why"
 * (or why the file cannot be read) on stderr.
 */
enum options_result options_parse_file(const struct opt *table, void *const *at, const char *path,
                                       char **text);

/* The rows as --help lines: "  --name ARG" then the help text and "(default ...)", wrapped to
 * 80 columns. */
void options_help(const struct opt *table, FILE *f);

/* The rows as a markdown table: | option | default | text |. */
void options_markdown(const struct opt *table, FILE *f);

#endif
