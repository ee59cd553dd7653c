"""The `facmon` command line: thin commands that wire the parts together, one module per command group.

Each module parses options, calls a part (ingest, simulators, analytics, alerts, dashboards, grafana)
and prints its result through :mod:`facmon.cli.output`. Queries and orchestration live in the parts;
errors are :mod:`facmon.errors` types that carry their own hint, printed by :func:`main`.
"""

from __future__ import annotations

import faulthandler
import logging
import signal
import sys

import typer
from rich.markup import escape

from facmon.cli import (  # report_schedule adds `facmon report schedule|deliver|follow` to report_app
    analyze,
    assess,
    baseline,
    demo,
    faults,
    grafana,
    ingest,
    mqtt,
    report,
    report_schedule,  # noqa: F401
    score,
    simulate,
    site,
    stack,
    workorders,
)
from facmon.cli.output import err
from facmon.errors import FacmonError

app = typer.Typer(
    help="facmon: measured energy saving and maintenance quality for public-institution office buildings.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(site.site_app, name="site")
app.add_typer(stack.stack_app, name="stack")
app.add_typer(mqtt.mqtt_app, name="mqtt")
app.command()(simulate.simulate)
app.add_typer(ingest.ingest_app, name="ingest")
app.command()(analyze.analyze)
app.add_typer(faults.faults_app, name="faults")
app.add_typer(score.score_app, name="score")
app.add_typer(baseline.baseline_app, name="baseline")
app.add_typer(grafana.grafana_app, name="grafana")
app.add_typer(workorders.workorders_app, name="workorders")
app.add_typer(assess.assess_app, name="assess")
app.add_typer(report.report_app, name="report")
app.command()(workorders.serve)
app.command()(demo.demo)


def main() -> None:
    """Console entry point: user mistakes print one clear message (and the error's hint) to stderr, no traceback."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # `kill -USR1 <pid>` prints every thread's stack to stderr: how to see where a long-running command is stuck.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        app()
    except FacmonError as exc:
        err.print(f"[red]facmon: error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        if exc.hint:
            err.print(f"  {exc.hint}", highlight=False, markup=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
