/*
 * tls.c -- the HTTPS listener's certificate and key (tls_int.h).
 *
 * libmicrohttpd asks GnuTLS for the certificate of each handshake through tls_retrieve(), which
 * hands out the pair loaded last; a reload (SIGHUP) loads the files again and swaps the pair with
 * one atomic store, so connections already open are not touched and the next handshake presents
 * the new certificate.  A replaced pair is kept until the listener stops (a handshake may still
 * be using it, and GnuTLS does not say when it is done): a reload costs a few KiB for the life of
 * the process.
 *
 * The callback has no user pointer, so the pairs are the one piece of process-wide state here:
 * one HTTPS listener per process, which is all `cobalt serve` runs.
 */
#include "net/tls_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define MAX_CHAIN 16 /* certificates in a chain file */

struct tls_pair {
    gnutls_pcert_st certs[MAX_CHAIN];
    unsigned ncerts;
    gnutls_privkey_t key;
    struct tls_pair *older; /* replaced before this one */
};

static struct tls_pair *_Atomic current;
static pthread_mutex_t load_mu = PTHREAD_MUTEX_INITIALIZER; /* serialises tls_load/unload */

static void
pair_free(struct tls_pair *p)
{
    for (unsigned i = 0; i < p->ncerts; i++)
        gnutls_pcert_deinit(&p->certs[i]);
    if (p->key != NULL)
        gnutls_privkey_deinit(p->key);
    free(p);
}

/* 1 if `key` signs what the leaf certificate's public key verifies. */
static int
key_matches(gnutls_privkey_t key, gnutls_pcert_st *leaf)
{
    static const unsigned char probe[] = "cobalt: does this key belong to this certificate?";
    const gnutls_datum_t data = {(unsigned char *)probe, sizeof(probe)};
    gnutls_datum_t sig = {NULL, 0};
    gnutls_sign_algorithm_t algo;
    int pk = gnutls_privkey_get_pk_algorithm(key, NULL), ok;

    algo = gnutls_pk_to_sign(pk, GNUTLS_DIG_SHA256);
    if (gnutls_privkey_sign_data2(key, algo, 0, &data, &sig) < 0)
        return 0;
    ok = gnutls_pubkey_verify_data2(leaf->pubkey, algo, 0, &data, &sig) >= 0;
    gnutls_free(sig.data);
    return ok;
}

int
tls_load(const char *cert_path, const char *key_path, int install)
{
    gnutls_datum_t cert = {NULL, 0}, key = {NULL, 0};
    struct tls_pair *p = calloc(1, sizeof(*p));
    int err, rc = -1;

    if (p == NULL)
        return -1;
    p->ncerts = MAX_CHAIN;
    if ((err = gnutls_load_file(cert_path, &cert)) < 0) {
        log_error("tls: cannot read the certificate %s: %s", cert_path, gnutls_strerror(err));
        p->ncerts = 0;
        goto out;
    }
    if ((err = gnutls_pcert_list_import_x509_raw(p->certs, &p->ncerts, &cert, GNUTLS_X509_FMT_PEM,
                                                 0)) < 0 ||
        p->ncerts == 0) {
        log_error("tls: %s holds no PEM certificate chain: %s", cert_path, gnutls_strerror(err));
        p->ncerts = 0;
        goto out;
    }
    if ((err = gnutls_load_file(key_path, &key)) < 0) {
        log_error("tls: cannot read the key %s: %s", key_path, gnutls_strerror(err));
        goto out;
    }
    if ((err = gnutls_privkey_init(&p->key)) < 0 ||
        (err = gnutls_privkey_import_x509_raw(p->key, &key, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
        log_error("tls: %s holds no unencrypted PEM private key: %s", key_path,
                  gnutls_strerror(err));
        goto out;
    }
    if (!key_matches(p->key, &p->certs[0])) {
        log_error("tls: the key in %s does not belong to the certificate in %s", key_path,
                  cert_path);
        goto out;
    }
    if (install) {
        pthread_mutex_lock(&load_mu);
        p->older = atomic_load(&current);
        atomic_store(&current, p);
        pthread_mutex_unlock(&load_mu);
        p = NULL;
    }
    rc = 0;
out:
    if (key.data != NULL) {
        memset(key.data, 0, key.size); /* the key's PEM text */
        gnutls_free(key.data);
    }
    gnutls_free(cert.data);
    if (p != NULL)
        pair_free(p);
    return rc;
}

void
tls_unload(void)
{
    struct tls_pair *p, *older;

    pthread_mutex_lock(&load_mu);
    p = atomic_exchange(&current, NULL);
    pthread_mutex_unlock(&load_mu);
    for (; p != NULL; p = older) {
        older = p->older;
        pair_free(p);
    }
}

int
tls_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
             const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length, gnutls_pcert_st **pcert,
             unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
    struct tls_pair *p = atomic_load(&current);

    if (p == NULL)
        return -1;
    *pcert = p->certs;
    *pcert_length = p->ncerts;
    *pkey = p->key;
    return 0;
}
