"""Drives a running flowsmith with the Python client that openapi-python-client generated from
the committed openapi.yaml, and nothing else: every request and every answer goes through the
generated functions and typed models.

Usage: smoke.py BASE_URL TOKEN EXAMPLES_DIR   (the generated package `flowsmith_client` on
PYTHONPATH). Prints "client smoke OK" at the end; any failure raises.
"""

import json
import sys
import time
from pathlib import Path

from flowsmith_client import AuthenticatedClient
from flowsmith_client.api.flows import get_flow, get_flow_yaml, list_flows
from flowsmith_client.api.jobs import create_job, get_job, list_jobs
from flowsmith_client.api.simulation import run_simulation
from flowsmith_client.api.targets import list_targets
from flowsmith_client.api.templates import (
    compile_template,
    create_template,
    diagram_template,
    get_template,
    get_version,
    list_templates,
    list_versions,
    validate_document,
)
from flowsmith_client.models import (
    CompileRequest,
    CompileRequestParams,
    Compiled,
    DiagramFormat,
    FlowPage,
    FlowRecord,
    FlowRequest,
    FlowRequestParams,
    FlowType,
    JobPage,
    JobRequest,
    JobStatus,
    JobView,
    OutcomeKind,
    Problem,
    Simulation,
    SimulationDigits,
    SimulationRequest,
    SimulationRequestParams,
    StepState,
    TargetList,
    TemplateDocument,
    TemplatePage,
    TemplateVersion,
    ValidateDocumentJsonBody,
    ValidationResult,
    VersionList,
)

FINAL = {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def document(examples: Path, name: str) -> TemplateDocument:
    return TemplateDocument.from_dict(json.loads((examples / name).read_text()))


def main(base: str, token: str, examples: Path) -> None:
    client = AuthenticatedClient(base_url=base, token=token, raise_on_unexpected_status=True)

    # Store the module and its caller: 201 and a typed version each.
    for file, name in [("language_select.json", "Language_Select"), ("support_line.json", "Support_Line")]:
        r = create_template.sync_detailed(client=client, body=document(examples, file))
        check(r.status_code == 201, f"store {file}: {r.status_code} {r.content!r}")
        check(isinstance(r.parsed, TemplateVersion) and r.parsed.name == name, repr(r.parsed))
        check(r.parsed.version == 1 and len(r.parsed.content_hash) == 64, repr(r.parsed))
        check(r.parsed.created_at.year >= 2024, "created_at is a date-time")

    # A broken template is refused: a typed problem whose findings point into the document.
    broken = document(examples, "broken_caller.json")
    r = create_template.sync_detailed(client=client, body=broken)
    check(r.status_code == 422 and isinstance(r.parsed, Problem), f"{r.status_code} {r.content!r}")
    pointers = [e.pointer for e in r.parsed.errors]
    check("/draft/nodes/Menu/onComplete/nextNode" in pointers, pointers)

    # Validate without storing: 200 with findings. (Any object: what is missing is a finding.)
    v = validate_document.sync(client=client, body=ValidateDocumentJsonBody.from_dict(broken.to_dict()))
    check(isinstance(v, ValidationResult) and not v.valid, repr(v))
    check("/draft/nodes/Menu/onComplete/nextNode" in [f.pointer for f in v.findings], repr(v))
    ok = validate_document.sync(
        client=client, body=ValidateDocumentJsonBody.from_dict(document(examples, "language_select.json").to_dict())
    )
    check(isinstance(ok, ValidationResult) and ok.valid, repr(ok))

    # List, filter, read and page.
    modules = list_templates.sync(client=client, type_=FlowType.MODULE)
    check(isinstance(modules, TemplatePage), repr(modules))
    check([t.name for t in modules.items] == ["Language_Select"], repr(modules))
    names, page_token = [], None
    while True:
        page = list_templates.sync(client=client, page_size=1, page_token=page_token)
        check(isinstance(page, TemplatePage) and len(page.items) <= 1, repr(page))
        names += [t.name for t in page.items]
        if not page.next_page_token:
            break
        page_token = page.next_page_token
    check(names == ["Language_Select", "Support_Line"], names)
    latest = get_template.sync(name="Support_Line", client=client)
    check(isinstance(latest, TemplateVersion) and latest.document.name == "Support_Line", repr(latest))
    versions = list_versions.sync(name="Support_Line", client=client)
    check(isinstance(versions, VersionList) and [s.version for s in versions.items] == [1], repr(versions))
    first = get_version.sync(name="Support_Line", version=1, client=client)
    check(isinstance(first, TemplateVersion) and first.content_hash == latest.content_hash, repr(first))
    missing = get_template.sync_detailed(name="No_Such_Template", client=client)
    check(missing.status_code == 404 and isinstance(missing.parsed, Problem), repr(missing))

    # Compile, simulate, draw.
    compiled = compile_template.sync(
        name="Support_Line",
        client=client,
        body=CompileRequest(params=CompileRequestParams.from_dict({"brand": "Acme"})),
    )
    check(isinstance(compiled, Compiled) and "inboundCall:" in compiled.yaml, repr(compiled))
    check(len(compiled.content_hash) == 64, compiled.content_hash)
    sim = run_simulation.sync(
        client=client,
        body=SimulationRequest(
            template="Support_Line",
            params=SimulationRequestParams.from_dict({"billing_queue": "General"}),
            inputs=[SimulationDigits(digits="2"), SimulationDigits(digits="1")],
        ),
    )
    check(isinstance(sim, Simulation) and sim.outcome.kind == OutcomeKind.ROUTED, repr(sim))
    check(sim.outcome.queue == "General", repr(sim.outcome))
    check(sim.variables.additional_properties.get("caller_language") == "es-us", repr(sim.variables))
    for fmt, marker in [(DiagramFormat.MERMAID, "flowchart"), (DiagramFormat.DOT, "digraph")]:
        r = diagram_template.sync_detailed(name="Support_Line", client=client, format_=fmt)
        check(r.status_code == 200 and marker in r.content.decode(), f"{fmt}: {r.content[:200]!r}")

    # Targets: the built-in org.
    targets = list_targets.sync(client=client)
    check(isinstance(targets, TargetList) and "sandbox" in [t.name for t in targets.items], repr(targets))

    # Provision the module and a caller; follow the job to its end.
    job = create_job.sync(
        client=client,
        idempotency_key="client-smoke-1",
        body=JobRequest(
            target="sandbox",
            flows=[
                FlowRequest(template="Language_Select"),
                FlowRequest(
                    template="Support_Line",
                    name="Support_Line_Client",
                    params=FlowRequestParams.from_dict({"brand": "Acme"}),
                ),
            ],
        ),
    )
    check(isinstance(job, JobView), repr(job))
    deadline = time.monotonic() + 60
    while job.status not in FINAL:
        check(time.monotonic() < deadline, f"job still {job.status} after 60 s")
        time.sleep(0.1)
        job = get_job.sync(id=job.id, client=client)
        check(isinstance(job, JobView), repr(job))
    check(job.status == JobStatus.SUCCEEDED, repr(job))
    check([s.state for s in job.steps] == [StepState.SUCCEEDED] * 2, repr(job.steps))
    check(all(s.flow_id and s.published_version for s in job.steps), repr(job.steps))
    check(job.finished_at is not None and job.finished_at >= job.created_at, repr(job))
    jobs = list_jobs.sync(client=client, status=JobStatus.SUCCEEDED, page_size=10)
    check(isinstance(jobs, JobPage) and job.id in [j.id for j in jobs.items], repr(jobs))

    # The flow records, and the file Genesys received.
    flows = list_flows.sync(client=client, target="sandbox")
    check(isinstance(flows, FlowPage), repr(flows))
    check(sorted(f.name for f in flows.items) == ["Language_Select", "Support_Line_Client"], repr(flows))
    record = get_flow.sync(target="sandbox", name="Support_Line_Client", client=client)
    check(isinstance(record, FlowRecord) and record.calls == ["Language_Select"], repr(record))
    check(record.type_ == FlowType.INBOUND, repr(record))
    deployed = get_flow_yaml.sync_detailed(target="sandbox", name="Support_Line_Client", client=client)
    check(deployed.status_code == 200 and b"inboundCall:" in deployed.content, repr(deployed))

    print("client smoke OK")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], Path(sys.argv[3]))
