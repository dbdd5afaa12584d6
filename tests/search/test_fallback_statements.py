"""While the index is rebuilt the database answers searches (README, Search): its number of
statements is pinned — the match count, one per facet, the page of hits — and does not grow with
the number of matching courses."""
from search.parsing import Synonyms
from search.queries import search_database

# select count(*) of the matches; one GROUP BY per facet (search.schema.FACETS: skill category,
# skill, programme); the page.
FALLBACK_STATEMENTS = 5


def test_a_fallback_search_runs_the_same_few_statements_however_many_courses_match(app, regions, make_course,
                                                                                   make_user, count_queries):
    trainer = make_user("trainer")
    make_course(trainer, title="电子商务运营入门", skill="ecommerce")
    synonyms = Synonyms([("电商", "电子商务")])
    with count_queries() as one:
        few = search_database("电商", region_code="621123100201", synonyms=synonyms)
    for n in range(6):
        make_course(trainer, title=f"电子商务进阶{n}", skill="ecommerce", regions=["621123000000"])
    with count_queries() as many:
        more = search_database("电商", region_code="621123100201", synonyms=synonyms)
    assert (few.total, more.total) == (1, 7)
    assert len(one) == len(many) == FALLBACK_STATEMENTS, many


def test_a_fallback_search_that_matches_nothing_stops_after_counting(app, regions, make_course, make_user,
                                                                     count_queries):
    make_course(make_user("trainer"), title="电子商务运营入门", skill="ecommerce")
    with count_queries() as statements:
        result = search_database("焊工", region_code="621123100201")
    assert result.total == 0 and result.hits == []
    assert len(statements) == 1
