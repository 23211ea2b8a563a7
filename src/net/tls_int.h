/*
 * tls_int.h -- private to net/: the certificate and key an HTTPS listener presents, loaded from
 * PEM files and replaceable while the listener runs (SIGHUP), through GnuTLS, which libmicrohttpd
 * uses for TLS.  Only net/ includes gnutls/.
 */
#ifndef COBALT_NET_TLS_INT_H
#define COBALT_NET_TLS_INT_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

/* TLS 1.2 and 1.3 only, GnuTLS's normal cipher suites for them. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/*
 * Loads the certificate chain (PEM, leaf first) and its private key (PEM) and, when `install`,
 * makes them the ones tls_retrieve() hands out (else only checks them).  Refuses a key that does
 * not belong to the leaf certificate.  The certificates presented before stay valid until
 * tls_unload(): a handshake in progress keeps using what it was given.  0, or -1 (logged, naming
 * the file and never the key) with the current pair unchanged.
 */
int tls_load(const char *cert_path, const char *key_path, int install);

/* Frees every pair tls_load() made (the HTTPS listener is stopped). */
void tls_unload(void);

/* GnuTLS's certificate callback (gnutls_certificate_retrieve_function2), given to libmicrohttpd
 * as MHD_OPTION_HTTPS_CERT_CALLBACK: the pair loaded last. */
int tls_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                 const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                 gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *pkey);

#endif
