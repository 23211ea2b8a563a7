/*
 * options.c -- table-driven long options (options.h): one row per option gives the parser, the
 * --help lines and the README table row.  getopt_long does the scanning (abbreviations, "--x=v",
 * its own messages for unknown options); this file checks and stores each argument as its row
 * says, reads configuration files of the same options, and prints the rows.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/options.h"

#define HELP_COLUMN 25  /* where help texts start */
#define HELP_WIDTH  80  /* lines end before this column */
#define VAL_HELP    1   /* getopt_long's value for --help; rows are VAL_ROW + index */
#define VAL_ROW     256 /* above every character getopt_long may return ('?', ':') */

/* The refusal of `arg` for row o; `where` ("FILE:LINE", or NULL on the command line) leads it. */
static int
refuse(const struct opt *o, const char *where, const char *arg)
{
    fprintf(stderr, "cobalt: %s%s", where ? where : "", where ? ": " : "");
    if (o->secret)
        arg = "(secret not shown)";
    if (o->err != NULL) {
        fprintf(stderr, o->err, o->name, arg);
    } else if (o->kind == OPT_UINT) {
        fprintf(stderr, "--%s must be %llu..%llu%s%s", o->name, o->lo, o->hi, o->unit ? " " : "",
                o->unit ? o->unit : "");
    } else if (o->kind == OPT_REAL) {
        fprintf(stderr, "--%s must be between %llu and %llu", o->name, o->lo, o->hi);
    } else if (o->kind == OPT_ENUM) {
        fprintf(stderr, "--%s must be ", o->name);
        for (size_t i = 0; o->choices[i] != NULL; i++)
            fprintf(stderr, "%s%s", i == 0 ? "" : o->choices[i + 1] ? ", " : " or ", o->choices[i]);
    } else {
        fprintf(stderr, "bad --%s %s", o->name, arg);
    }
    fputc('\n', stderr);
    return -1;
}

/* An unsigned value into a field of 4 or 8 bytes (int, unsigned, enum, size_t, uint64_t...). */
static void
store_uint(void *field, size_t width, unsigned long long v)
{
    if (width == sizeof(uint64_t)) {
        uint64_t x = v;
        memcpy(field, &x, sizeof(x));
    } else {
        uint32_t x = (uint32_t)v;
        memcpy(field, &x, sizeof(x));
    }
}

/* Checks `arg` as row `o` says and stores it.  0, or -1 after printing the refusal (led by
 * `where` when not NULL). */
static int
parse_one(const struct opt *o, void *const *at, const char *arg, const char *where)
{
    char *field = (char *)at[o->at] + o->off, *end;
    unsigned long long v;
    double d;
    size_t i;

    switch (o->kind) {
    case OPT_STRING:
        memcpy(field, &arg, sizeof(arg));
        return 0;
    case OPT_UINT:
        errno = 0;
        v = strtoull(arg, &end, 10);
        if (!isdigit((unsigned char)arg[0]) || *end != '\0' || errno != 0 || v < o->lo || v > o->hi)
            return refuse(o, where, arg);
        store_uint(field, o->width, v * (o->scale ? o->scale : 1));
        return 0;
    case OPT_REAL:
        d = strtod(arg, &end);
        if (end == arg || *end != '\0' || !(d >= (double)o->lo && d <= (double)o->hi))
            return refuse(o, where, arg);
        memcpy(field, &d, sizeof(d));
        return 0;
    case OPT_ENUM:
        for (i = 0; o->choices[i] != NULL && strcmp(arg, o->choices[i]) != 0; i++)
            ;
        if (o->choices[i] == NULL)
            return refuse(o, where, arg);
        store_uint(field, o->width, i);
        return 0;
    case OPT_EACH:
        return o->each(field, arg) == 0 ? 0 : refuse(o, where, arg);
    case OPT_FILE:
        break; /* read by options_parse(), never from a file */
    }
    return refuse(o, where, arg);
}

/* The whole of file `path`, NUL-terminated, in heap memory; NULL (said on stderr) if unreadable. */
static char *
read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text = NULL;
    size_t cap = 0;

    if (f == NULL) {
        fprintf(stderr, "cobalt: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    if (getdelim(&text, &cap, '\0', f) < 0) { /* nothing read: an empty file, or an error */
        free(text);
        text = ferror(f) ? NULL : strdup("");
        if (text == NULL)
            fprintf(stderr, "cobalt: %s: cannot read it\n", path);
    }
    fclose(f);
    return text;
}

/* `s` with white space trimmed at both ends, in place. */
static char *
trim(char *s)
{
    char *e;

    s += strspn(s, " \t\r");
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

enum options_result
options_parse_file(const struct opt *table, void *const *at, const char *path, char **text)
{
    char where[320], *line, *next;
    unsigned lineno = 0;

    if ((*text = read_text(path)) == NULL)
        return OPTIONS_BAD;
    for (line = *text; line != NULL; line = next) {
        const struct opt *o;
        char *eq, *name;

        if ((next = strchr(line, '\n')) != NULL)
            *next++ = '\0';
        lineno++;
        snprintf(where, sizeof(where), "%s:%u", path, lineno);
        name = trim(line);
        if (*name == '\0' || *name == '#')
            continue;
        if ((eq = strchr(name, '=')) == NULL) {
            fprintf(stderr, "cobalt: %s: expected 'name = value'\n", where);
            return OPTIONS_BAD;
        }
        *eq = '\0';
        name = trim(name);
        for (char *c = eq + 1; *c != '\0'; c++) /* " #" starts a comment */
            if (*c == '#' && (c[-1] == ' ' || c[-1] == '\t')) {
                *c = '\0';
                break;
            }
        for (o = table; o->name != NULL && strcmp(o->name, name) != 0; o++)
            ;
        if (o->name == NULL || o->kind == OPT_FILE) {
            fprintf(stderr, "cobalt: %s: unknown option '%s'\n", where, name);
            return OPTIONS_BAD;
        }
        if (parse_one(o, at, trim(eq + 1), where) != 0)
            return OPTIONS_BAD;
    }
    return OPTIONS_OK;
}

/* The configuration files named on the command line (OPT_FILE rows), read before the rest of it
 * so that the command line overrides them.  getopt_long's messages wait for the second scan. */
static enum options_result
parse_files(const struct opt *table, void *const *at, int argc, char **argv,
            const struct option *longopts)
{
    enum options_result res = OPTIONS_OK;
    int c, saved = opterr;

    optind = 0;
    opterr = 0;
    while (res == OPTIONS_OK && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        const struct opt *o = c >= VAL_ROW ? &table[c - VAL_ROW] : NULL;
        char **field;

        if (o == NULL || o->kind != OPT_FILE)
            continue;
        field = (char **)((char *)at[o->at] + o->off);
        if (*field != NULL) { /* the first file's values borrow its text: one file only */
            fprintf(stderr, "cobalt: --%s may be given once\n", o->name);
            res = OPTIONS_BAD;
        } else {
            res = options_parse_file(table, at, optarg, field);
        }
    }
    opterr = saved;
    return res;
}

enum options_result
options_parse(const struct opt *table, void *const *at, int argc, char **argv)
{
    enum options_result res = OPTIONS_OK;
    struct option *longopts;
    size_t n = 0;
    int c;

    while (table[n].name != NULL)
        n++;
    for (size_t i = 0; i < n; i++)
        if (table[i].def != NULL && parse_one(&table[i], at, table[i].def, NULL) != 0)
            return OPTIONS_BAD;
    if ((longopts = calloc(n + 2, sizeof(*longopts))) == NULL) {
        fprintf(stderr, "cobalt: out of memory\n");
        return OPTIONS_BAD;
    }
    for (size_t i = 0; i < n; i++)
        longopts[i] = (struct option){table[i].name, required_argument, NULL, VAL_ROW + (int)i};
    longopts[n] = (struct option){"help", no_argument, NULL, VAL_HELP};
    res = parse_files(table, at, argc, argv, longopts);
    optind = 0; /* glibc: start afresh, even after an earlier scan */
    while (res == OPTIONS_OK && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == VAL_HELP)
            res = OPTIONS_HELP;
        else if (c < VAL_ROW)
            res = OPTIONS_USAGE;
        else if (table[c - VAL_ROW].kind != OPT_FILE &&
                 parse_one(&table[c - VAL_ROW], at, optarg, NULL) != 0)
            res = OPTIONS_BAD;
    }
    free(longopts);
    return res;
}

/* `s` without its markdown backticks, into buf[cap]. */
static const char *
plain(const char *s, char *buf, size_t cap)
{
    size_t n = 0;

    for (; *s != '\0' && n + 1 < cap; s++)
        if (*s != '`')
            buf[n++] = *s;
    buf[n] = '\0';
    return buf;
}

/* Words of `text` from column `col` on, wrapped to HELP_WIDTH with continuation lines indented to
 * HELP_COLUMN. */
static void
put_wrapped(FILE *f, int col, const char *text)
{
    while (*text != '\0') {
        size_t len = strcspn(text, " ");

        if (col > HELP_COLUMN && col + 1 + (int)len >= HELP_WIDTH) {
            fprintf(f, "\n%*s", HELP_COLUMN, "");
            col = HELP_COLUMN;
        } else if (col > HELP_COLUMN) {
            fputc(' ', f);
            col++;
        }
        fwrite(text, 1, len, f);
        col += (int)len;
        text += len;
        text += strspn(text, " ");
    }
    fputc('\n', f);
}

void
options_help(const struct opt *table, FILE *f)
{
    char text[1024], def[256];

    for (const struct opt *o = table; o->name != NULL; o++) {
        int col = fprintf(f, "  --%s %s", o->name, o->arg);

        if (o->def != NULL || o->def_text != NULL)
            snprintf(text, sizeof(text), "%s (default %s)", o->help,
                     o->def ? o->def : plain(o->def_text, def, sizeof(def)));
        else
            snprintf(text, sizeof(text), "%s", o->help);
        if (col + 2 > HELP_COLUMN) {
            fputc('\n', f);
            col = 0;
        }
        fprintf(f, "%*s", HELP_COLUMN - col, "");
        put_wrapped(f, HELP_COLUMN, text);
    }
}

/* A table cell: `s` with '|' escaped, optionally as code. */
static void
put_cell(FILE *f, const char *s, int code)
{
    if (*s == '\0') {
        fputs(" |", f);
        return;
    }
    fputs(code ? " `" : " ", f);
    for (; *s != '\0'; s++) {
        if (*s == '|')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputs(code ? "` |" : " |", f);
}

void
options_markdown(const struct opt *table, FILE *f)
{
    char name[256];

    fputs("| option | default | |\n|---|---|---|\n", f);
    for (const struct opt *o = table; o->name != NULL; o++) {
        snprintf(name, sizeof(name), "--%s %s", o->name, o->arg);
        fputc('|', f);
        put_cell(f, name, 1);
        if (o->def != NULL)
            put_cell(f, o->def, 1);
        else
            put_cell(f, o->def_text ? o->def_text : "", 0);
        put_cell(f, o->doc ? o->doc : o->help, 0);
        fputc('\n', f);
    }
}
