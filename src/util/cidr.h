/*
 * cidr.h -- lists of IPv4 and IPv6 address prefixes ("10.1.0.0/16,192.0.2.7,fd00:1::/64"), for
 * the operator's options that name networks: the egress allow-list of copies (--egress-allow) and
 * the trusted proxies whose X-Forwarded-For is believed (--trusted-proxy).
 *
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is matched in its IPv4 form, so a rule written for
 * IPv4 covers a dual-stack listener's peers too.  Lists are built at start-up and read-only
 * afterwards: any thread may match against them.
 */
#ifndef COBALT_UTIL_CIDR_H
#define COBALT_UTIL_CIDR_H

struct sockaddr;
struct cidr_list;

/*
 * Adds the comma-separated prefixes in `list` (an address without a length is a single host) to
 * *l, creating it when *l is NULL.  0, or -1 when an entry is malformed (nothing added) or memory
 * ran out.  Free with cidr_list_free.
 *
 *     struct cidr_list *l = NULL;
 *     if (cidr_list_add(&l, "10.0.0.0/8,fd00::/8") != 0) ...
 */
int cidr_list_add(struct cidr_list **l, const char *list);
void cidr_list_free(struct cidr_list *l);

/* 1 when a prefix of l (NULL: none) holds the address of sa (AF_INET or AF_INET6), else 0. */
int cidr_list_match(const struct cidr_list *l, const struct sockaddr *sa);

/* The address bytes of sa in network order, an IPv4-mapped IPv6 address as IPv4: returns
 * AF_INET (4 bytes) or AF_INET6 (16 bytes) and points *a into sa; 0 for another family. */
int cidr_addr(const struct sockaddr *sa, const unsigned char **a);

/* 1 when the first `bits` bits of the addresses a and net are equal. */
int cidr_prefix_match(const unsigned char *a, const unsigned char *net, unsigned bits);

#endif
