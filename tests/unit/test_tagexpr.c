/*
 * test_tagexpr.c -- tag expressions (§5.9): the grammar, the where= restrictions, and evaluation
 * (lexicographic comparisons, missing keys, <>, AND/OR precedence, @container).
 */
#include "api/tagexpr.h"
#include "check.h"
#include "meta/meta.h"
#include "util/arena.h"

static struct arena *A;
static struct meta_pair tags[] = {{"project", "cobalt"}, {"n", "05"}, {"team name", "a b"}};

static int
ev(const char *s, enum tagexpr_mode mode)
{
    const char *why = NULL;
    struct tagexpr *e = tagexpr_parse(A, s, mode, &why);

    if (e == NULL)
        return -1;
    return tagexpr_eval(e, 3, tags, "photos");
}

int
main(void)
{
    A = arena_new(1 << 20);
    CHECK(ev("\"project\" = 'cobalt'", TAGEXPR_WHERE) == 1);
    CHECK(ev("project = 'cobalt'", TAGEXPR_WHERE) == 1);
    CHECK(ev("\"project\"='other'", TAGEXPR_WHERE) == 0);
    CHECK(ev("\"n\" > '04' AND \"n\" < '06'", TAGEXPR_WHERE) == 1);
    CHECK(ev("\"n\" >= '05' and \"n\" <= '05'", TAGEXPR_WHERE) == 1);
    CHECK(ev("\"n\" > '5'", TAGEXPR_WHERE) == 0); /* lexicographic: "05" < "5" */
    CHECK(ev("\"team name\" = 'a b'", TAGEXPR_WHERE) == 1);
    CHECK(ev("\"missing\" = ''", TAGEXPR_WHERE) == 0);
    CHECK(ev("@container = 'photos' AND \"project\" = 'cobalt'", TAGEXPR_WHERE) == 1);
    CHECK(ev("@container = 'docs'", TAGEXPR_WHERE) == 0);
    /* where= refuses OR, <>, two '=' on one key, and bad characters. */
    CHECK(ev("\"a\" = '1' OR \"b\" = '2'", TAGEXPR_WHERE) == -1);
    CHECK(ev("\"a\" <> '1'", TAGEXPR_WHERE) == -1);
    CHECK(ev("\"a\" = '1' AND \"a\" = '2'", TAGEXPR_WHERE) == -1);
    CHECK(ev("\"a*\" = '1'", TAGEXPR_WHERE) == -1);
    CHECK(ev("\"a\" = '1", TAGEXPR_WHERE) == -1);
    CHECK(ev("\"a\" = '1' AND", TAGEXPR_WHERE) == -1);
    CHECK(ev("\"a\" == '1'", TAGEXPR_WHERE) == -1);
    CHECK(ev("", TAGEXPR_WHERE) == -1);
    CHECK(ev("\"a\" = '1' junk", TAGEXPR_WHERE) == -1);
    /* x-ms-if-tags: OR, parentheses, <>, escaped quotes. */
    CHECK(ev("\"project\" = 'x' OR \"n\" = '05'", TAGEXPR_IF_TAGS) == 1);
    CHECK(ev("\"project\" = 'x' OR \"n\" = '05' AND \"project\" = 'y'", TAGEXPR_IF_TAGS) == 0);
    CHECK(ev("(\"project\" = 'x' OR \"n\" = '05') AND \"project\" = 'cobalt'", TAGEXPR_IF_TAGS) ==
          1);
    CHECK(ev("\"missing\" <> 'x'", TAGEXPR_IF_TAGS) == 1);
    CHECK(ev("\"project\" <> 'cobalt'", TAGEXPR_IF_TAGS) == 0);
    CHECK(ev("\"project\" = 'it''s'", TAGEXPR_IF_TAGS) == 0);
    CHECK(ev("@container = 'photos'", TAGEXPR_IF_TAGS) == -1);
    CHECK(ev("((((\"n\" = '05'))))", TAGEXPR_IF_TAGS) == 1);
    {
        char deep[200];
        int i;
        for (i = 0; i < 40; i++)
            deep[i] = '(';
        deep[i] = '\0';
        CHECK(ev(deep, TAGEXPR_IF_TAGS) == -1);
    }
    arena_free(A);
    return check_report("test_tagexpr");
}
