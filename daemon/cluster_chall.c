/* cluster_chall.c - cluster mode's challenge answers: published in etcd
 * too, so that whichever node the CA's validator reaches can answer */
#include "config.h"

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "acme_solver.h"
#include "cluster.h"
#include "cluster_chall.h"
#include "cluster_rec.h"
#include "htab.h"
#include "log.h"
#include "xmalloc.h"

/* One slot of main's solver array, wrapped. */
struct cc_slot {
	struct cluster_chall	*cc;
	size_t			 i;
};

/*
 * An answer in etcd, as this node knows it: published here (own: this
 * node's order asked for it) or another node's, put into the local
 * solver of its type so that this node answers too.
 */
struct cc_answer {
	TAILQ_ENTRY(cc_answer)	 entry;
	struct cluster_chall_rec rec;
	int			 own;		/* published by this node */
	int			 local;		/* a local solver holds it (remote) */
	size_t			 slot;		/* ...that one */
	struct cluster_call	*put;		/* own: the put in flight */
	acme_solver_done	 done;		/* own: acme's, once put */
	void			*ctx;
};

/*
 * A listener's miss, asked of etcd. A validator does not wait long: with
 * no answer within CC_ASK_MS (etcd without a majority) it gets its 404.
 */
#define CC_ASK_MS	1500

struct cc_ask {
	struct cluster_chall	*cc;
	struct cluster_call	*get;
	struct event		*timer;
	chall_http_found	 found;
	void			*ctx;
};

struct cluster_chall {
	struct event_base	*base;
	struct cluster		*cl;
	const struct acme_solver *local;	/* main's slots, filled on reloads */
	struct acme_solver	*wrap;
	struct cc_slot		*slots;
	size_t			 n;
	struct htab		*answers;	/* token -> struct cc_answer */
	TAILQ_HEAD(, cc_answer)	 all;		/* the same, for the teardown */
};

/* Types whose answer a validator fetches from the node it reaches. */
static int
shared_type(const char *type)
{
	return type != NULL && (strcmp(type, "http-01") == 0 ||
	    strcmp(type, "tls-alpn-01") == 0);
}

static void
answer_free(struct cluster_chall *cc, struct cc_answer *a)
{
	htab_del(cc->answers, a->rec.token);
	TAILQ_REMOVE(&cc->all, a, entry);
	cluster_call_cancel(a->put);
	if (a->local && cc->local[a->slot].type != NULL) {
		struct acme_challenge c;

		cluster_chall_view(&a->rec, &c);
		cc->local[a->slot].withdraw(cc->local[a->slot].arg, &c);
	}
	cluster_chall_clear(&a->rec);
	free(a);
}

/* The slot whose local solver answers type, or n. */
static size_t
slot_of(const struct cluster_chall *cc, const char *type)
{
	size_t	i;

	for (i = 0; i < cc->n; i++)
		if (cc->local[i].type != NULL &&
		    strcmp(cc->local[i].type, type) == 0)
			return i;
	return cc->n;
}

static int
wrap_can(void *arg, const char *id_type, const char *id_value)
{
	struct cc_slot		*s = arg;
	const struct acme_solver *l = &s->cc->local[s->i];

	return l->can == NULL ? 1 : l->can(l->arg, id_type, id_value);
}

/* Our put of an answer ended: acme may trigger the challenge now. */
static void
put_done(void *arg, const char *error)
{
	struct cc_answer *a = arg;
	acme_solver_done  done = a->done;
	void		 *ctx = a->ctx;

	a->put = NULL;
	a->done = NULL;
	if (error != NULL)
		log_err("%s: %s challenge for %s: cannot publish it in the "
		    "cluster: %s", a->rec.cert, a->rec.type, a->rec.id_value,
		    error);
	done(ctx, error);
}

/* A withdrawn answer's delete: the lease ends it anyway if this fails. */
static void
delete_done(void *arg, const char *error)
{
	(void)arg;
	if (error != NULL)
		log_warn("cluster: cannot delete a withdrawn challenge answer: "
		    "%s; it goes with this node's lease", error);
}

static int
wrap_publish(void *arg, const struct acme_challenge *c, acme_solver_done done,
    void *ctx)
{
	struct cc_slot		*s = arg;
	struct cluster_chall	*cc = s->cc;
	const struct acme_solver *l = &cc->local[s->i];
	struct cc_answer	*a;
	const char		*why;
	char			*json;
	size_t			 len;

	if (!shared_type(l->type))	/* dns-01: DNS is shared already */
		return l->publish(l->arg, c, done, ctx);
	if (htab_get(cc->answers, c->token) != NULL) {
		log_err("%s: token %s is in use in the cluster already",
		    c->cert, c->token);
		return -1;
	}
	if (l->publish(l->arg, c, NULL, NULL) != 0)	/* both are immediate */
		return -1;
	a = xcalloc(1, sizeof(*a));
	json = cluster_chall_encode(c, &len);
	if (cluster_chall_parse((unsigned char *)json, len, &a->rec, &why) ==
	    -1)
		abort();	/* what we encode we parse: a bug */
	a->own = 1;
	a->slot = s->i;
	a->done = done;
	a->ctx = ctx;
	htab_put(cc->answers, a->rec.token, a);
	TAILQ_INSERT_TAIL(&cc->all, a, entry);
	a->put = cluster_put(cc->cl, "chall", c->token, json, len, NULL,
	    CLUSTER_PUT_LEASE, put_done, a);
	free(json);
	return 1;
}

static void
wrap_withdraw(void *arg, const struct acme_challenge *c)
{
	struct cc_slot		*s = arg;
	struct cluster_chall	*cc = s->cc;
	const struct acme_solver *l = &cc->local[s->i];
	struct cc_answer	*a;

	if (!shared_type(l->type)) {
		l->withdraw(l->arg, c);
		return;
	}
	l->withdraw(l->arg, c);
	if ((a = htab_get(cc->answers, c->token)) == NULL || !a->own)
		return;
	/* leases end a dead node's answers; a live one deletes its own */
	cluster_delete(cc->cl, "chall", c->token, NULL, delete_done, NULL);
	a->local = 0;
	answer_free(cc, a);
}

struct cluster_chall *
cluster_chall_new(struct event_base *base, struct cluster *cl,
    const struct acme_solver *local, size_t n)
{
	struct cluster_chall	*cc;
	size_t			 i;

	cc = xcalloc(1, sizeof(*cc));
	cc->base = base;
	cc->cl = cl;
	cc->local = local;
	cc->n = n;
	cc->wrap = xcalloc(n, sizeof(*cc->wrap));
	cc->slots = xcalloc(n, sizeof(*cc->slots));
	for (i = 0; i < n; i++) {
		cc->slots[i].cc = cc;
		cc->slots[i].i = i;
	}
	cc->answers = htab_new();
	TAILQ_INIT(&cc->all);
	cluster_chall_sync(cc);
	return cc;
}

void
cluster_chall_sync(struct cluster_chall *cc)
{
	size_t	i;

	for (i = 0; i < cc->n; i++) {
		memset(&cc->wrap[i], 0, sizeof(cc->wrap[i]));
		if (cc->local[i].type == NULL)
			continue;
		cc->wrap[i].type = cc->local[i].type;
		cc->wrap[i].can = wrap_can;
		cc->wrap[i].publish = wrap_publish;
		cc->wrap[i].withdraw = wrap_withdraw;
		cc->wrap[i].arg = &cc->slots[i];
	}
}

const struct acme_solver *
cluster_chall_solvers(const struct cluster_chall *cc)
{
	return cc->wrap;
}

/* Another node's answer: this node's solver of its type serves it too. */
static void
remote_add(struct cluster_chall *cc, const char *token,
    const unsigned char *value, size_t len)
{
	struct cc_answer	*a;
	struct acme_challenge	 c;
	const char		*why;

	a = xcalloc(1, sizeof(*a));
	if (cluster_chall_parse(value, len, &a->rec, &why) == -1 ||
	    strcmp(a->rec.token, token) != 0) {
		log_err("cluster: chall/%s: refused: %s", token,
		    a->rec.token == NULL ? why : "its token is another");
		cluster_chall_clear(&a->rec);
		free(a);
		return;
	}
	a->slot = slot_of(cc, a->rec.type);
	if (a->slot < cc->n && shared_type(a->rec.type)) {
		cluster_chall_view(&a->rec, &c);
		a->local = cc->local[a->slot].publish(cc->local[a->slot].arg,
		    &c, NULL, NULL) == 0;
	}
	log_debug("cluster: %s answer for %s (%s) from another node%s",
	    a->rec.type, a->rec.id_value, a->rec.cert, a->local ? "" :
	    ": no local solver of that type serves it");
	htab_put(cc->answers, a->rec.token, a);
	TAILQ_INSERT_TAIL(&cc->all, a, entry);
}

void
cluster_chall_record(struct cluster_chall *cc, const char *token,
    const unsigned char *value, size_t len)
{
	struct cc_answer *a = htab_get(cc->answers, token);

	if (a != NULL && a->own)	/* ours, coming back: served already */
		return;
	if (a != NULL)			/* changed or gone: the old one goes */
		answer_free(cc, a);
	if (value != NULL)
		remote_add(cc, token, value, len);
}

static void
ask_done(void *arg, const unsigned char *value, size_t len)
{
	struct cc_ask		*k = arg;
	struct cluster_chall_rec rec = { 0 };
	const char		*why;

	k->get = NULL;
	event_free(k->timer);
	if (value != NULL && cluster_chall_parse(value, len, &rec, &why) == 0 &&
	    strcmp(rec.type, "http-01") == 0)
		k->found(k->ctx, rec.keyauth);
	else
		k->found(k->ctx, NULL);
	cluster_chall_clear(&rec);
	free(k);
}

static void
ask_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct cc_ask *k = arg;

	(void)fd;
	(void)what;
	cluster_call_cancel(k->get);
	k->get = NULL;
	log_info("cluster: a token lookup got no answer from etcd within "
	    "%d ms: 404", CC_ASK_MS);
	ask_done(k, NULL, 0);
}

void *
cluster_chall_ask(void *arg, const char *token, chall_http_found found,
    void *ctx)
{
	struct cluster_chall	*cc = arg;
	struct cc_ask		*k;
	struct timeval		 tv = { CC_ASK_MS / 1000, CC_ASK_MS % 1000 * 1000 };

	/*
	 * Asked even while this node's session is down: etcd may be back
	 * (another node's order is being validated) before this node's
	 * session is; the read is bounded either way.
	 */
	k = xcalloc(1, sizeof(*k));
	k->cc = cc;
	k->found = found;
	k->ctx = ctx;
	k->timer = evtimer_new(cc->base, ask_timeout, k);
	evtimer_add(k->timer, &tv);
	k->get = cluster_get(cc->cl, "chall", token, ask_done, k);
	return k;
}

void
cluster_chall_ask_cancel(void *handle)
{
	struct cc_ask *k = handle;

	cluster_call_cancel(k->get);
	event_free(k->timer);
	free(k);
}

void
cluster_chall_free(struct cluster_chall *cc)
{
	struct cc_answer *a;

	if (cc == NULL)
		return;
	/* before the solvers go: remote answers leave them as they came */
	while ((a = TAILQ_FIRST(&cc->all)) != NULL) {
		a->done = NULL;
		answer_free(cc, a);
	}
	htab_free(cc->answers);
	free(cc->wrap);
	free(cc->slots);
	free(cc);
}
