/* test_cluster.c - cluster.c's pure parts: the rendezvous score and rank */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

/* chrony-style: the module itself, to reach rank_of and its tables */
#include "../../daemon/cluster.c"

#define NNAMES	1000

static const char *const nodes3[] = { "node-a", "node-b", "node-c" };

/* The node that ranks first for name among n nodes. */
static size_t
top(const char *const *nodes, size_t n, const char *name)
{
	size_t i, best = 0;

	for (i = 1; i < n; i++)
		if (cluster_score(nodes[i], name) > cluster_score(nodes[best], name))
			best = i;
	return best;
}

static void
spread_is_even(void **state)
{
	size_t	count[3] = { 0, 0, 0 }, i;
	char	name[64];

	(void)state;
	for (i = 0; i < NNAMES; i++) {
		snprintf(name, sizeof(name), "cert%zu.example.org", i);
		count[top(nodes3, 3, name)]++;
	}
	for (i = 0; i < 3; i++) {
		print_message("# %s first for %zu of %d names\n", nodes3[i],
		    count[i], NNAMES);
		/* 333 expected; 3 sigma of the binomial is about 45 */
		assert_in_range(count[i], 270, 400);
	}
}

static void
score_is_pure_and_separates_node_from_name(void **state)
{
	(void)state;
	assert_true(cluster_score("a", "b") == cluster_score("a", "b"));
	assert_true(cluster_score("ab", "c") != cluster_score("a", "bc"));
	assert_true(cluster_score("a", "x1") != cluster_score("a", "x2"));
}

/* rank_of over a cluster whose live nodes are nodes[0..n). */
static unsigned
rank_in(const char *self, const char *const *nodes, size_t n, const char *name)
{
	struct cluster	c;
	size_t		i;
	unsigned	k;

	memset(&c, 0, sizeof(c));
	c.node = (char *)self;
	tab_init(&c.nodes);
	for (i = 0; i < n; i++)
		tab_put(&c.nodes, nodes[i]);
	k = rank_of(&c, name);
	tab_free(&c.nodes);
	return k;
}

/*
 * Every name gets ranks 0, 1, 2 on the three nodes, in score order, and
 * whatever order the nodes were seen in; when a node leaves, the others
 * keep their relative order (only the leaver's names move).
 */
static void
rank_order_is_stable(void **state)
{
	const char *const	 rev[] = { "node-c", "node-b", "node-a" };
	const char *const	 two[] = { "node-a", "node-c" };
	char			 name[64];
	unsigned		 r[3], seen;
	size_t			 i, j, moved = 0;

	(void)state;
	for (i = 0; i < NNAMES; i++) {
		snprintf(name, sizeof(name), "cert%zu.example.org", i);
		seen = 0;
		for (j = 0; j < 3; j++) {
			r[j] = rank_in(nodes3[j], nodes3, 3, name);
			assert_int_equal(r[j], rank_in(nodes3[j], rev, 3, name));
			seen |= 1u << r[j];
		}
		assert_int_equal(seen, 7);
		assert_int_equal(r[top(nodes3, 3, name)], 0);
		/* node-b leaves: a and c keep their order */
		assert_int_equal(rank_in("node-a", two, 2, name) <
		    rank_in("node-c", two, 2, name), r[0] < r[2]);
		if (r[1] == 0)
			moved++;
		else
			assert_int_equal(top(two, 2, name) == 0, r[0] == 0);
	}
	print_message("# %zu names moved when node-b left\n", moved);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(spread_is_even),
		cmocka_unit_test(score_is_pure_and_separates_node_from_name),
		cmocka_unit_test(rank_order_is_stable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
