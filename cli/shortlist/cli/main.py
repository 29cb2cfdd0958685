"""The ``shortlist`` command."""

import asyncio
import json
import signal
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from shortlist.cli import kafka
from shortlist.cli.api import ApiError, IngestClient
from shortlist.cli.demo import run_demo, submit_files
from shortlist.cli.jobfile import JobFileError, parse_job
from shortlist.cli.render import application_view, ranking_table
from shortlist.cli.stack import SERVICES, Stack, StackError, broker_port_from_env, ports_from_env
from shortlist.cli.top import top

DEFAULT_INGEST_URL = "http://127.0.0.1:8001"
DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
REPO_EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

app = typer.Typer(
    help="Shortlist: screen CVs against job descriptions on an event-driven pipeline.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
jobs_app = typer.Typer(help="Job descriptions.", no_args_is_help=True)
dlt_app = typer.Typer(help="Dead-letter topics: list and replay.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
app.add_typer(dlt_app, name="dlt")
app.command()(top)

err = Console(stderr=True)
out = Console()


@dataclass
class Options:
    ingest_url: str = DEFAULT_INGEST_URL
    bootstrap: str | None = None
    api_key: str | None = None

    @property
    def kafka(self) -> str:
        return self.bootstrap or DEFAULT_BOOTSTRAP

    def client(self) -> IngestClient:
        return IngestClient(self.ingest_url, self.api_key)


def fail(message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(1)


def options(ctx: typer.Context) -> Options:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Options) else Options()


@app.callback()
def main(
    ctx: typer.Context,
    ingest_url: Annotated[
        str, typer.Option("--ingest-url", envvar="SHORTLIST_INGEST_URL", help="Base URL of the ingest API.")
    ] = DEFAULT_INGEST_URL,
    bootstrap: Annotated[
        str | None,
        typer.Option(
            "--bootstrap",
            envvar="SHORTLIST_KAFKA_BOOTSTRAP",
            help=f"Kafka bootstrap servers (default {DEFAULT_BOOTSTRAP}; for `up`: an external broker to use).",
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", envvar="SHORTLIST_API_KEY", help="API key, sent as 'Authorization: Bearer <key>'."),
    ] = None,
) -> None:
    ctx.obj = Options(ingest_url, bootstrap, api_key)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@app.command()
def up(
    ctx: typer.Context,
    state_dir: Annotated[Path, typer.Option(help="Where the services keep their state and logs.")] = Path(".shortlist"),
    ingest_port: Annotated[int | None, typer.Option(help="Default 8001 or SHORTLIST_INGEST_PORT.")] = None,
    embed_port: Annotated[int | None, typer.Option(help="Default 8002 or SHORTLIST_EMBED_PORT.")] = None,
    score_port: Annotated[int | None, typer.Option(help="Default 8003 or SHORTLIST_SCORE_PORT.")] = None,
    notify_port: Annotated[int | None, typer.Option(help="Default 8004 or SHORTLIST_NOTIFY_PORT.")] = None,
) -> None:
    """Start the broker and the four services, stream their logs, stop everything on Ctrl-C."""
    ports = ports_from_env()
    for name, port in zip(SERVICES, (ingest_port, embed_port, score_port, notify_port), strict=True):
        if port is not None:
            ports[name] = port
    stack = Stack(
        state_dir=state_dir.resolve(),
        ports=ports,
        bootstrap=options(ctx).bootstrap,
        console=err,
        api_key=options(ctx).api_key,
        broker_port=broker_port_from_env(),
    )
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        stack.start()
        err.print("\n[bold green]Shortlist is up[/] (Ctrl-C stops it)")
        for name in SERVICES:
            err.print(f"  {name:<7} {stack.url(name)}   docs {stack.url(name)}/docs")
        err.print(f"  kafka   {stack.bootstrap}\n  state   {stack.state_dir}")
        err.print(f"  api key {stack.api_key}   (export SHORTLIST_API_KEY={stack.api_key})\n", markup=False)
        stack.wait()
    except KeyboardInterrupt:
        err.print("\nstopping…")
    except StackError as exc:
        fail(str(exc))
    finally:
        stack.stop()
    err.print("stopped")


@jobs_app.command("create")
def jobs_create(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A Markdown or text job description.", exists=True, dir_okay=False)],
    title: Annotated[str | None, typer.Option(help="Default: the file's first heading.")] = None,
) -> None:
    """Post a job description; prints the job id."""
    try:
        job = parse_job(file.read_text(encoding="utf-8"), title)
    except (JobFileError, UnicodeDecodeError) as exc:
        fail(f"{file}: {exc}")
    try:
        with options(ctx).client() as client:
            posted = client.create_job(job.title, job.description)
    except ApiError as exc:
        fail(str(exc))
    err.print(f"created job [bold]{posted.get('title', job.title)}[/]", highlight=False)
    for req in posted.get("requirements") or []:
        err.print(f"  {req.get('kind', '?'):<4} {req.get('text', '')}", highlight=False)
    typer.echo(posted["id"])


@app.command()
def submit(
    ctx: typer.Context,
    job: Annotated[str, typer.Option("--job", help="The job id the CVs apply to.")],
    files: Annotated[list[Path], typer.Argument(help="CV files: PDF, DOCX, text, Markdown or HTML.")],
) -> None:
    """Upload CVs for a job; prints one application id per file."""
    with options(ctx).client() as client:
        results = submit_files(client, job, files, err)
    failed = 0
    for item in results:
        if item.application_id:
            typer.echo(f"{item.application_id}\t{item.path}")
        else:
            failed += 1
            err.print(f"[red]{item.path}[/]: {item.error}", highlight=False)
    if failed:
        fail(f"{failed} of {len(results)} file(s) were not accepted")


@app.command()
def redrive(
    ctx: typer.Context,
    older_than: Annotated[
        float | None,
        typer.Option(
            "--older-than",
            min=0,
            help="Seconds without progress (default: ingest's SHORTLIST_REDRIVE_AFTER_SECONDS; 0: all not scored).",
        ),
    ] = None,
) -> None:
    """Publish again the work of applications not scored in time (after a broker restart lost it)."""
    try:
        with options(ctx).client() as client:
            answer = client.redrive(older_than)
    except ApiError as exc:
        fail(str(exc))
    err.print(f"re-drove {answer['applications']} application(s) of {answer['jobs']} job(s)")
    for application_id in answer.get("application_ids", []):
        typer.echo(application_id)


@app.command()
def ranking(
    ctx: typer.Context,
    job_id: Annotated[str, typer.Argument(help="The job id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON answer.")] = False,
) -> None:
    """The scored applications of a job, best first."""
    try:
        with options(ctx).client() as client:
            answer = client.ranking(job_id)
    except ApiError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
    elif not answer.get("items"):
        err.print("no scored applications yet")
    else:
        out.print(ranking_table(answer))


@app.command()
def status(
    ctx: typer.Context,
    application_id: Annotated[str, typer.Argument(help="The application id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON answer.")] = False,
) -> None:
    """Where an application is: its timeline, failure or score."""
    try:
        with options(ctx).client() as client:
            answer = client.application(application_id)
    except ApiError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
    else:
        out.print(application_view(answer))


def _print_record(record: dict[str, Any], pretty: bool) -> None:
    if pretty:
        out.print_json(data=record)
    else:
        typer.echo(json.dumps(record, ensure_ascii=False))


@app.command()
def tail(
    ctx: typer.Context,
    topic: Annotated[str, typer.Argument(help="e.g. cv.scored.v1 or cv.submitted.v1-dlt")],
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning/--from-end", help="Start at the oldest or only show new records.")
    ] = True,
    max_records: Annotated[int | None, typer.Option("--max", min=1, help="Stop after N records.")] = None,
    idle_timeout: Annotated[
        float | None, typer.Option("--idle-timeout", help="Stop when no record came for this many seconds.")
    ] = None,
    pretty: Annotated[bool, typer.Option(help="Indented, coloured JSON instead of one line per record.")] = False,
) -> None:
    """Print a topic's records as JSON, decoded from protobuf (no consumer group is joined)."""

    async def run() -> None:
        async for record in kafka.tail(
            options(ctx).kafka,
            topic,
            from_beginning=from_beginning,
            max_records=max_records,
            idle_timeout=idle_timeout,
        ):
            _print_record(record, pretty)

    try:
        asyncio.run(run())
    except kafka.TopicError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        pass


@dlt_app.command("list")
def dlt_list(
    ctx: typer.Context,
    topic: Annotated[str, typer.Argument(help="The original topic (its `-dlt` topic is read).")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per record.")] = False,
) -> None:
    """The dead letters of a topic with the reason each one failed."""
    try:
        records = asyncio.run(kafka.dlt_records(options(ctx).kafka, topic))
    except kafka.TopicError as exc:
        fail(str(exc))
    if as_json:
        for record in records:
            _print_record(record, pretty=False)
        return
    if not records:
        err.print(f"{kafka.dlt_topic(topic)} is empty")
        return
    table = Table(title=f"{kafka.dlt_topic(topic)}: {len(records)} record(s)")
    table.add_column("at", style="dim")
    table.add_column("key")
    table.add_column("original")
    table.add_column("error", style="red")
    table.add_column("message", ratio=1)
    for record in records:
        headers = record.get("dlt", {})
        table.add_row(
            f"{record['partition']}@{record['offset']}",
            str(record.get("key") or ""),
            f"{headers.get('dlt-original-topic', '?')}[{headers.get('dlt-original-partition', '?')}]"
            f"@{headers.get('dlt-original-offset', '?')}",
            headers.get("dlt-exception-type", "?"),
            headers.get("dlt-exception-message", ""),
        )
    out.print(table)


@dlt_app.command("replay")
def dlt_replay(
    ctx: typer.Context,
    topic: Annotated[str, typer.Argument(help="The original topic (its `-dlt` topic is read).")],
    from_beginning: Annotated[
        bool, typer.Option("--all", help="Replay every dead letter again, not only those not replayed yet.")
    ] = False,
) -> None:
    """Publish dead letters again to their original topic, without the dlt-* headers."""
    try:
        result = asyncio.run(kafka.dlt_replay(options(ctx).kafka, topic, from_beginning=from_beginning))
    except kafka.TopicError as exc:
        fail(str(exc))
    if not result.replayed:
        err.print("nothing to replay")
    for target, count in sorted(result.by_topic.items()):
        err.print(f"replayed {count} record(s) to {target}")


@app.command()
def demo(
    ctx: typer.Context,
    state_dir: Annotated[Path, typer.Option(help="Emptied first; logs stay there afterwards.")] = Path(
        ".shortlist/demo"
    ),
    examples: Annotated[
        Path | None, typer.Option(help="Folder with job.md and cvs/ (default: ./examples or the repository's).")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the CVs to be scored.")] = 300.0,
) -> None:
    """Start the stack, screen the sample CVs against the sample job, print the shortlist, stop."""
    if examples is None:
        examples = Path("examples") if (Path("examples") / "job.md").is_file() else REPO_EXAMPLES
    if not (examples / "job.md").is_file() or not (examples / "cvs").is_dir():
        fail(f"{examples} lacks job.md or cvs/")
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        code = run_demo(examples, state_dir.resolve(), err, out, timeout, options(ctx).api_key)
    except StackError as exc:
        fail(str(exc))
    except ApiError as exc:
        fail(f"{exc} (service logs in {state_dir.resolve() / 'logs'})")
    raise typer.Exit(code)
