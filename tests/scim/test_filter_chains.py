"""A flat chain of ``or``/``and`` is not nesting: depth counts levels, not clauses."""

from __future__ import annotations

import pytest

from scimhub.scim.errors import InvalidFilter
from scimhub.scim.filter_parser import parse_filter
from scimhub.scim.filters import And, Compare, Filter, Not, Or, Present, ValuePath
from scimhub.scim.matching import resource_matches
from scimhub.scim.paths import AttrPath
from scimhub.scim.schemas import USER
from tests.scim.test_filter_parser import depth


def leaves(node: Filter) -> list[Compare | Present]:
    if isinstance(node, And | Or):
        return leaves(node.left) + leaves(node.right)
    if isinstance(node, Not):
        return leaves(node.inner)
    if isinstance(node, ValuePath):
        return leaves(node.filter)
    return [node]


@pytest.mark.parametrize("joiner", [" or ", " and "])
def test_forty_clauses_without_parentheses_parse(joiner: str) -> None:
    """The issue's case: 40 clauses joined by ``or`` were refused as nesting deeper than 32."""
    clauses = [f'userName eq "u{i}"' for i in range(40)]
    tree = parse_filter(joiner.join(clauses))
    assert [getattr(leaf, "value", None) for leaf in leaves(tree)] == [f"u{i}" for i in range(40)]
    assert depth(tree) <= 32


def test_a_long_chain_is_shallow_and_means_the_same() -> None:
    """Built balanced, 900 clauses are ten levels deep, and the order of clauses is kept."""
    text = " or ".join(f'userName eq "u{i}"' for i in range(900))
    tree = parse_filter(text, max_length=100_000)
    assert depth(tree) == 10
    assert resource_matches(tree, {"userName": "u899"}, USER)
    assert not resource_matches(tree, {"userName": "u900"}, USER)


def test_short_chains_keep_their_left_deep_shape() -> None:
    """Within the limit the tree is exactly what the grammar reads, so str() round-trips."""
    a, b, c = (Present(AttrPath(n)) for n in "abc")
    assert parse_filter("a pr or b pr or c pr") == Or(Or(a, b), c)
    assert parse_filter("a pr and b pr and c pr") == And(And(a, b), c)


def test_real_nesting_still_has_its_limit() -> None:
    deep = "(" * 33 + "a pr" + ")" * 33
    with pytest.raises(InvalidFilter, match="maximum depth of 32"):
        parse_filter(deep)
    nested_chain = " or ".join(["(" * 31 + "a pr" + ")" * 31] * 40)
    with pytest.raises(InvalidFilter, match="maximum depth of 32"):
        parse_filter(nested_chain, max_length=100_000)


def test_total_size_is_bounded_by_the_number_of_comparisons() -> None:
    """The length limit is the caller's; whatever it is, 1,000 comparisons is the most."""
    assert parse_filter(" or ".join(["a pr"] * 1000), max_length=1_000_000)
    with pytest.raises(InvalidFilter, match="more than 1000 comparisons"):
        parse_filter("a pr or " * 10_000 + "a pr", max_length=1_000_000)
    with pytest.raises(InvalidFilter, match="more than 3 comparisons"):
        parse_filter("a pr and (b pr or c pr or d pr)", max_clauses=3)
