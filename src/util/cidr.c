/*
 * cidr.c -- lists of address prefixes; see cidr.h.
 */
#include "util/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct cidr_rule {
    int family;             /* AF_INET or AF_INET6 */
    unsigned char addr[16]; /* network order; 4 bytes used for AF_INET */
    unsigned bits;          /* prefix length */
};

struct cidr_list {
    struct cidr_rule *rules;
    size_t n;
};

int
cidr_prefix_match(const unsigned char *a, const unsigned char *net, unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;

    if (memcmp(a, net, whole) != 0)
        return 0;
    return rest == 0 || ((a[whole] ^ net[whole]) & (0xffu << (8 - rest)) & 0xffu) == 0;
}

int
cidr_addr(const struct sockaddr *sa, const unsigned char **a)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    if (sa->sa_family == AF_INET) {
        *a = (const unsigned char *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
        return AF_INET;
    }
    if (sa->sa_family == AF_INET6) {
        *a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
        if (memcmp(*a, mapped, 12) != 0)
            return AF_INET6;
        *a += 12;
        return AF_INET;
    }
    return 0;
}

int
cidr_list_match(const struct cidr_list *l, const struct sockaddr *sa)
{
    const unsigned char *a;
    int family = cidr_addr(sa, &a);

    for (size_t i = 0; l != NULL && family != 0 && i < l->n; i++)
        if (l->rules[i].family == family &&
            cidr_prefix_match(a, l->rules[i].addr, l->rules[i].bits))
            return 1;
    return 0;
}

/* One "ADDR[/BITS]" of length n.  0 or -1. */
static int
parse_rule(const char *s, size_t n, struct cidr_rule *r)
{
    char text[INET6_ADDRSTRLEN + 8], *slash, *end;
    unsigned max;

    if (n == 0 || n >= sizeof(text))
        return -1;
    memcpy(text, s, n);
    text[n] = '\0';
    if ((slash = strchr(text, '/')) != NULL)
        *slash = '\0';
    memset(r, 0, sizeof(*r));
    if (inet_pton(AF_INET, text, r->addr) == 1)
        r->family = AF_INET, max = 32;
    else if (inet_pton(AF_INET6, text, r->addr) == 1)
        r->family = AF_INET6, max = 128;
    else
        return -1;
    r->bits = max;
    if (slash != NULL) {
        unsigned long bits = strtoul(slash + 1, &end, 10);
        if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || bits > max)
            return -1;
        r->bits = (unsigned)bits;
    }
    return 0;
}

int
cidr_list_add(struct cidr_list **l, const char *list)
{
    struct cidr_list *g = *l;
    size_t add = 1, n0;
    struct cidr_rule *rules;

    for (const char *p = list; *p; p++)
        add += *p == ',';
    if (g == NULL && (g = calloc(1, sizeof(*g))) == NULL)
        return -1;
    *l = g;
    if ((rules = realloc(g->rules, sizeof(*rules) * (g->n + add))) == NULL)
        return -1;
    g->rules = rules;
    n0 = g->n;
    for (const char *p = list;;) {
        size_t len = strcspn(p, ",");
        if (parse_rule(p, len, &g->rules[g->n]) != 0) {
            g->n = n0;
            return -1;
        }
        g->n++;
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    return 0;
}

void
cidr_list_free(struct cidr_list *l)
{
    if (l == NULL)
        return;
    free(l->rules);
    free(l);
}
