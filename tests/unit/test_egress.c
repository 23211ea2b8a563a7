/*
 * test_egress.c -- the egress policy of server-side fetches (src/api/fetch.c): which destination
 * addresses a copy may connect to by default, and the operator's allow-list.  No connection is
 * made: the classifier is judged on socket addresses alone.
 */
#include "api/fetch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "check.h"
#include "util/cidr.h"

/* egress_permits on the textual address (IPv4 or IPv6).  -1 when the text is not an address. */
static int
permits(const struct cidr_list *e, const char *text)
{
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;

    memset(&v4, 0, sizeof(v4));
    memset(&v6, 0, sizeof(v6));
    if (inet_pton(AF_INET, text, &v4.sin_addr) == 1) {
        v4.sin_family = AF_INET;
        return egress_permits(e, (struct sockaddr *)&v4);
    }
    if (inet_pton(AF_INET6, text, &v6.sin6_addr) == 1) {
        v6.sin6_family = AF_INET6;
        return egress_permits(e, (struct sockaddr *)&v6);
    }
    return -1;
}

static void
test_default_refusals(void)
{
    static const char *const refused[] = {
        /* IPv4: loopback, unspecified, private, CGNAT, link-local and the metadata address,
         * multicast, broadcast, reserved, documentation, benchmarking */
        "127.0.0.1", "127.255.255.254", "0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255",
        "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.1", "100.127.255.255",
        "169.254.169.254", "169.254.0.1", "224.0.0.1", "239.255.255.250", "255.255.255.255",
        "240.0.0.1", "192.0.0.170", "192.0.2.1", "198.51.100.7", "203.0.113.9", "198.18.0.1",
        /* IPv6: loopback, unspecified, link-local, unique-local, site-local, multicast,
         * documentation, discard, unassigned space */
        "::1", "::", "fe80::1", "febf::1", "fc00::1", "fd12:3456::1", "fec0::1", "ff02::1",
        "ff0e::1", "2001:db8::1", "100::1", "4000::1", "2001::1", "2001:1ff::1",
        /* IPv4 embedded in IPv6: mapped, compatible, SIIT, NAT64 (well-known and local-use),
         * 6to4 */
        "::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254", "::127.0.0.1",
        "::10.0.0.1", "::ffff:0:192.168.0.1", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe",
        "64:ff9b:1::808:808", "2002:7f00:1::1", "2002:c0a8:101::1", "2002:a9fe:a9fe::"};
    static const char *const allowed[] = {
        "8.8.8.8",        "1.1.1.1",         "172.15.255.255",   "172.32.0.1",
        "100.63.255.255", "100.128.0.1",     "169.253.255.255",  "192.169.0.1",
        "11.0.0.1",       "223.255.255.255", "2606:4700::1111",  "2001:4860:4860::8888",
        "2a00:1450::1",   "::ffff:8.8.8.8",  "64:ff9b::808:808", "2002:808:808::1",
        "2001:200::1"};

    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        int r = permits(NULL, refused[i]);
        if (r != 0)
            fprintf(stderr, "expected %s to be refused\n", refused[i]);
        CHECK(r == 0);
    }
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        int r = permits(NULL, allowed[i]);
        if (r != 1)
            fprintf(stderr, "expected %s to be allowed\n", allowed[i]);
        CHECK(r == 1);
    }
}

static void
test_allow_list(void)
{
    struct cidr_list *e = NULL;

    CHECK(cidr_list_add(&e, "10.1.0.0/16,127.0.0.2") == 0);
    CHECK(cidr_list_add(&e, "fd00:1::/32") == 0); /* repeated options add up */
    CHECK(permits(e, "10.1.2.3") == 1);
    CHECK(permits(e, "10.1.255.255") == 1);
    CHECK(permits(e, "10.2.0.1") == 0);  /* outside the prefix: still refused */
    CHECK(permits(e, "127.0.0.2") == 1); /* a single host */
    CHECK(permits(e, "127.0.0.1") == 0);
    CHECK(permits(e, "::ffff:127.0.0.2") == 1); /* the mapped form of an allowed address */
    CHECK(permits(e, "::ffff:127.0.0.1") == 0);
    CHECK(permits(e, "fd00:1:ffff::9") == 1);
    CHECK(permits(e, "fd00:2::9") == 0);
    CHECK(permits(e, "169.254.169.254") == 0);
    CHECK(permits(e, "8.8.8.8") == 1); /* public addresses stay allowed */
    cidr_list_free(e);

    e = NULL;
    CHECK(cidr_list_add(&e, "0.0.0.0/0,::/0") == 0); /* everything, explicitly */
    CHECK(permits(e, "127.0.0.1") == 1 && permits(e, "::1") == 1 && permits(e, "fe80::1") == 1);
    CHECK(cidr_list_add(&e, "10.0.0.0/33") != 0); /* malformed entries add nothing */
    CHECK(cidr_list_add(&e, "::/129") != 0);
    CHECK(cidr_list_add(&e, "10.0.0.0/") != 0);
    CHECK(cidr_list_add(&e, "10.0.0.0/-1") != 0);
    CHECK(cidr_list_add(&e, "localhost") != 0);
    CHECK(cidr_list_add(&e, "10.0.0.1,") != 0);
    CHECK(cidr_list_add(&e, "") != 0);
    cidr_list_free(e);

    e = NULL;
    CHECK(cidr_list_add(&e, "192.168.0.0/23") == 0); /* a length not on a byte boundary */
    CHECK(permits(e, "192.168.1.200") == 1);
    CHECK(permits(e, "192.168.2.1") == 0);
    cidr_list_free(e);
}

int
main(void)
{
    test_default_refusals();
    test_allow_list();
    return check_report("test_egress");
}
