"""``flask search …``: rebuild the index, check it, query it from the shell."""
import json
import sys

import click
from flask.cli import AppGroup

cli = AppGroup("search", help="Course search index.")


@cli.command("rebuild")
def rebuild_command():
    """Build a new index from the database and swap it in atomically (searches keep working)."""
    from search import documents, indexer
    from search.storage import index_root

    meta = indexer.rebuild(index_root(), documents.published_documents())
    click.echo(f"indexed {meta['documents']} courses in {meta['seconds']} s ({meta['generation']})")


@cli.command("verify")
@click.option("--repair/--no-repair", default=True, show_default=True,
              help="Rebuild or re-index what is wrong.")
def verify_command(repair):
    """Compare the index with the database (what the worker does every 30 minutes)."""
    from search.tasks import verify

    report = verify(repair=repair)
    click.echo(json.dumps(report, ensure_ascii=False))
    if report.get("status") != "ok" and not repair:
        sys.exit(1)


@cli.command("query")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
@click.option("--skill", help="A skill code or skill category.")
@click.option("--programme", help="A programme code.")
@click.option("--region", help="Search as a learner of this village code (default: no limit).")
@click.option("--page", default=1, show_default=True, type=int)
def query_command(text, as_json, skill, programme, region, page):
    """Search as the API does: ``flask search query "养猪" --json``."""
    from types import SimpleNamespace

    from search.queries import search_courses

    user = None
    if region is not None:
        user = SimpleNamespace(is_authenticated=True, role=SimpleNamespace(value="learner"),
                               region_code=region)
    else:
        user = SimpleNamespace(is_authenticated=True, role=SimpleNamespace(value="admin"))
    result = search_courses(text, user=user, skill=skill, programme=programme, page=page)
    if as_json:
        click.echo(json.dumps(result.as_json(), ensure_ascii=False))
        return
    if result.fallback:
        click.echo("(index unavailable: answered from the database; a rebuild was queued)", err=True)
    click.echo(f"{result.total} courses")
    for hit in result.hits:
        click.echo(f"{hit['course']:>8}  {hit['score']:>8.3f}  {hit['title']}")
    for name, counts in result.facets.items():
        if counts:
            click.echo(f"{name}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
