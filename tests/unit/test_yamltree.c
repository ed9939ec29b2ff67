/* test_yamltree.c - the YAML tree loader on its own: shape, anchors, limits */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "yamltree.h"

static struct ytree *
load(const char *yaml)
{
	struct yerror	 err;
	struct ytree	*t;

	t = ytree_load(yaml, strlen(yaml), &err);
	if (t == NULL)
		print_message("unexpected: %d:%d: %s\n", err.line, err.col,
		    err.msg);
	assert_non_null(t);
	return t;
}

/* yaml must be refused with msg at line:col. */
static void
refused(const char *yaml, size_t len, int line, int col, const char *msg)
{
	struct yerror	 err;
	struct ytree	*t;

	t = ytree_load(yaml, len, &err);
	if (t != NULL || strcmp(err.msg, msg) != 0)
		print_message("got %d:%d: %s\n", err.line, err.col, err.msg);
	assert_null(t);
	assert_string_equal(err.msg, msg);
	assert_int_equal(err.line, line);
	assert_int_equal(err.col, col);
}

/* Returns the value of key in mapping m, which must have it. */
static const struct ynode *
get(const struct ynode *m, const char *key)
{
	size_t	i;

	assert_int_equal(m->type, Y_MAP);
	for (i = 0; i + 1 < m->nkid; i += 2)
		if (strcmp(m->kid[i]->str, key) == 0)
			return m->kid[i + 1];
	fail_msg("no key %s", key);
	return NULL;
}

static void
scalars_lists_and_mappings_keep_their_places(void **state)
{
	struct ytree	*t = load("a: plain\n"
	    "b: [\"quoted\", 'single', !!str tagged]\n"
	    "c:\n"
	    "  d: \"nul\\0inside\"\n"
	    "  e: ~\n");
	const struct ynode *root = ytree_root(t), *b, *d;

	assert_int_equal(root->type, Y_MAP);
	assert_int_equal(root->nkid, 6);
	assert_int_equal(root->line, 1);
	assert_int_equal(root->col, 1);
	assert_string_equal(get(root, "a")->str, "plain");
	assert_true(get(root, "a")->plain);
	assert_int_equal(get(root, "a")->col, 4);
	b = get(root, "b");
	assert_int_equal(b->type, Y_SEQ);
	assert_int_equal(b->nkid, 3);
	assert_int_equal(b->line, 2);
	assert_int_equal(b->col, 4);
	/* only untagged plain scalars may mean null or a merge */
	assert_false(b->kid[0]->plain);
	assert_false(b->kid[1]->plain);
	assert_false(b->kid[2]->plain);
	assert_string_equal(b->kid[2]->str, "tagged");
	/* a node starts at its tag or anchor */
	assert_int_equal(b->kid[2]->col, 25);
	d = get(get(root, "c"), "d");
	assert_int_equal(d->len, 10);
	assert_int_equal(strlen(d->str), 3);
	assert_true(ynode_is_null(get(get(root, "c"), "e")));
	assert_false(ynode_is_null(d));
	assert_string_equal(ynode_type_name(root), "a mapping");
	assert_string_equal(ynode_type_name(b), "a list");
	assert_string_equal(ynode_type_name(d), "a string");
	assert_string_equal(ynode_type_name(get(get(root, "c"), "e")), "null");
	/* 1 map, 3 keys, 1 scalar, 1 list of 3, 1 map of 2 pairs */
	assert_int_equal(ytree_nodes(t), 14);
	assert_int_equal(root->esize, 14);
	ytree_free(t);
}

static void
empty_documents_have_no_root(void **state)
{
	static const char *const empties[] = { "", "# nothing\n" };
	struct ytree	*t;
	size_t		 i;

	for (i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
		t = load(empties[i]);
		assert_null(ytree_root(t));
		assert_int_equal(ytree_nodes(t), 0);
		ytree_free(t);
	}
	/* a document marker or a lone null is a document, though */
	t = load("---\n");
	assert_true(ynode_is_null(ytree_root(t)));
	ytree_free(t);
	t = load("~\n");
	assert_true(ynode_is_null(ytree_root(t)));
	ytree_free(t);
	ytree_free(NULL);
}

static void
aliases_share_content_but_keep_their_place(void **state)
{
	struct ytree	*t = load("x: &a [1, 2]\n"
	    "y: *a\n"
	    "s: &s text\n"
	    "z: [*s, *a]\n"
	    "x2: &a redefined\n"
	    "w: *a\n");
	const struct ynode *root = ytree_root(t), *x, *y, *z;

	x = get(root, "x");
	y = get(root, "y");
	assert_false(x->alias);
	assert_true(y->alias);
	assert_int_equal(y->type, Y_SEQ);
	assert_ptr_equal(y->kid, x->kid);
	assert_int_equal(y->nkid, 2);
	assert_int_equal(y->esize, 3);
	assert_int_equal(y->line, 2);
	assert_int_equal(y->col, 4);
	z = get(root, "z");
	assert_ptr_equal(z->kid[0]->str, get(root, "s")->str);
	assert_true(z->kid[0]->plain);
	assert_int_equal(z->kid[1]->col, 9);
	/* what z stands for with its aliases expanded: itself, 1, and 3 */
	assert_int_equal(z->esize, 5);
	/* a redefined anchor: the latest wins */
	assert_string_equal(get(root, "w")->str, "redefined");
	ytree_free(t);
}

static void
merge_keys_are_recognised(void **state)
{
	struct ytree	*t = load("base: &b { k: v }\n"
	    "m: { <<: *b, \"<<\": quoted, !!merge <<: tagged }\n");
	const struct ynode *m = get(ytree_root(t), "m");

	assert_int_equal(m->nkid, 6);
	assert_true(ynode_is_merge(m->kid[0]));
	assert_true(m->kid[1]->alias);
	/* only the plain, untagged spelling merges */
	assert_false(ynode_is_merge(m->kid[2]));
	assert_false(ynode_is_merge(m->kid[4]));
	assert_false(ynode_is_merge(m->kid[1]));
	ytree_free(t);
}

static void
undefined_and_self_aliases_are_refused(void **state)
{
	static const char nowhere[] = "a: *nowhere\n";
	static const char self[] = "a: &a [ *a ]\n";
	static const char odd[] = "a: *\"x\n";

	refused(nowhere, strlen(nowhere), 1, 4, "undefined alias \"nowhere\" "
	    "(an anchor must be complete before its alias)");
	/* an anchor is only usable once complete: the tree stays acyclic */
	refused(self, strlen(self), 1, 9, "undefined alias \"a\" (an anchor "
	    "must be complete before its alias)");
	refused(odd, strlen(odd), 1, 5, "syntax error: did not find expected "
	    "alphabetic or numeric character (while scanning an alias at "
	    "1:4)");
}

/* "x: &a [1 ... 9]" then a list of n aliases to it, each worth 10 nodes. */
static char *
alias_list(size_t n)
{
	char	*yaml, *p;
	size_t	 i;

	assert_non_null(yaml = malloc(64 + n * 4));
	p = yaml + sprintf(yaml, "x: &a [1,2,3,4,5,6,7,8,9]\ny: [");
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s*a", i == 0 ? "" : ",");
	strcpy(p, "]\n");
	return yaml;
}

static void
alias_expansion_is_bounded_exactly(void **state)
{
	char		*yaml;
	struct ytree	*t;
	struct yerror	 err;

	/* 10000 aliases of 10 nodes: exactly the limit, accepted */
	yaml = alias_list(YTREE_MAX_ALIAS_NODES / 10);
	t = load(yaml);
	assert_int_equal(get(ytree_root(t), "y")->nkid, 10000);
	ytree_free(t);
	free(yaml);
	/* one more is a node too many, refused at that alias */
	yaml = alias_list(YTREE_MAX_ALIAS_NODES / 10 + 1);
	refused(yaml, strlen(yaml), 2, 5 + 3 * 10000, "aliases expand to more "
	    "than 100000 nodes (alias bomb?); refusing");
	free(yaml);

	/* nested aliases multiply: charged by what they stand for */
	yaml = strdup("a: &a [x,x,x,x,x,x,x,x,x]\n"
	    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
	    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
	    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
	    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
	    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n");
	assert_null(ytree_load(yaml, strlen(yaml), &err));
	assert_int_equal(err.line, 6);
	assert_string_equal(err.msg, "aliases expand to more than 100000 nodes "
	    "(alias bomb?); refusing");
	free(yaml);
}

static void
nesting_is_bounded_exactly(void **state)
{
	char		 yaml[2 * YTREE_MAX_DEPTH + 8];
	struct ytree	*t;
	size_t		 i;

	for (i = 0; i < YTREE_MAX_DEPTH; i++) {
		yaml[i] = '[';
		yaml[YTREE_MAX_DEPTH + i] = ']';
	}
	yaml[2 * YTREE_MAX_DEPTH] = '\0';
	t = load(yaml);
	ytree_free(t);
	memmove(yaml + 1, yaml, 2 * YTREE_MAX_DEPTH + 1);
	yaml[0] = '[';
	strcat(yaml, "]");
	refused(yaml, strlen(yaml), 1, YTREE_MAX_DEPTH + 1,
	    "nested deeper than 64 levels; refusing");
}

static void
node_and_anchor_counts_are_bounded(void **state)
{
	char	*yaml, *p;
	size_t	 i, n = YTREE_MAX_NODES;

	/* a list of n scalars is n + 1 nodes: the last scalar is refused */
	assert_non_null(yaml = malloc(2 * n + 4));
	p = yaml;
	*p++ = '[';
	for (i = 0; i < n; i++) {
		*p++ = '0';
		*p++ = ',';
	}
	p[-1] = ']';
	*p = '\0';
	refused(yaml, (size_t)(p - yaml), 1, (int)(2 * n), "more than 1000000 "
	    "YAML nodes; refusing");
	free(yaml);

	assert_non_null(yaml = malloc((YTREE_MAX_ANCHORS + 1) * 16 + 4));
	p = yaml;
	*p++ = '[';
	for (i = 0; i <= YTREE_MAX_ANCHORS; i++)
		p += sprintf(p, "&a%zu x,", i);
	p[-1] = ']';
	*p = '\0';
	refused(yaml, (size_t)(p - yaml), 1,
	    1 + 6 * 10 + 7 * 90 + 8 * 900 + 1, "more than 1000 anchors; "
	    "refusing");
	free(yaml);
}

static void
documents_and_syntax_errors_are_refused_with_places(void **state)
{
	static const char two[] = "a: 1\n---\nb: 2\n";
	static const char flow[] = "a: [1, 2\n";
	static const char bad_utf8[] = "a: 1\nb: \"\xff\"\n";

	refused(two, strlen(two), 2, 1,
	    "more than one YAML document in the file");
	refused(flow, strlen(flow), 2, 1, "syntax error: did not find expected "
	    "',' or ']' (while parsing a flow sequence at 1:4)");
	refused("a: b: c\n", 8, 1, 5, "syntax error: mapping values are not "
	    "allowed in this context");
	/* a reader error carries an offset, turned into line:col */
	refused(bad_utf8, strlen(bad_utf8), 2, 5,
	    "invalid input: invalid leading UTF-8 octet");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scalars_lists_and_mappings_keep_their_places),
		cmocka_unit_test(empty_documents_have_no_root),
		cmocka_unit_test(aliases_share_content_but_keep_their_place),
		cmocka_unit_test(merge_keys_are_recognised),
		cmocka_unit_test(undefined_and_self_aliases_are_refused),
		cmocka_unit_test(alias_expansion_is_bounded_exactly),
		cmocka_unit_test(nesting_is_bounded_exactly),
		cmocka_unit_test(node_and_anchor_counts_are_bounded),
		cmocka_unit_test(documents_and_syntax_errors_are_refused_with_places),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
