/* cluster_chall.h - cluster mode's challenge answers, shared through etcd */
#ifndef RENEWD_CLUSTER_CHALL_H
#define RENEWD_CLUSTER_CHALL_H

#include <stddef.h>

#include "challenge_http.h"

struct acme_solver;
struct event_base;
struct cluster;
struct cluster_chall;

/*
 * Wraps main's n solver slots (local: the array itself, whose slots a
 * reload fills). The wrappers publish an http-01 or tls-alpn-01 answer
 * locally and as P chall/<token> on this node's lease, and say it is
 * visible once etcd has it; dns-01 passes through (DNS is shared already).
 */
struct cluster_chall *cluster_chall_new(struct event_base *, struct cluster *,
		    const struct acme_solver *local, size_t n);
/* After main filled a slot: the wrappers follow. */
void		 cluster_chall_sync(struct cluster_chall *);
/* The n wrappers, for renew_env.solvers. */
const struct acme_solver *cluster_chall_solvers(const struct cluster_chall *);
/*
 * The watch's chall/<token> (value NULL: deleted): another node's answer
 * goes into this node's solver of its type, and out again.
 */
void		 cluster_chall_record(struct cluster_chall *, const char *token,
		    const unsigned char *value, size_t len);
/*
 * chall_http_miss and its cancel (chall_http_set_miss), arg the
 * cluster_chall: a linearizable read (session up or not), given up after
 * 1.5 s (a 404).
 */
void		*cluster_chall_ask(void *arg, const char *token,
		    chall_http_found found, void *ctx);
void		 cluster_chall_ask_cancel(void *handle);
/* Withdraws the other nodes' answers from the local solvers and frees; NULL: no-op. */
void		 cluster_chall_free(struct cluster_chall *);

#endif
