#!/usr/bin/env python3
"""Drives the flowsmith sandbox with the official Genesys Cloud Python SDK
(purecloudplatformclientv2). Usage: contract.py BASE_URL [CLIENT_ID CLIENT_SECRET]

Exits 0 when every call succeeded and every answer deserialised into the SDK's models;
exits 2 when the SDK is not installed; 1 on any other failure.
"""
import json
import sys
import time
import urllib.request

try:
    import PureCloudPlatformClientV2 as gc
    from PureCloudPlatformClientV2.rest import ApiException
except ImportError as e:  # pragma: no cover
    print(f"SDK not importable: {e}", file=sys.stderr)
    sys.exit(2)

MODULE = """commonModule:
  name: Contract Module
  division: Home
  defaultLanguage: en-us
  settingsCommonModule:
    compatibleFlowTypes:
      - flowType: inboundcall
  variables:
    - stringVariable: {name: Common.tier, initialValue: {noValue: true}, isInput: false, isOutput: true}
  startUpTaskActions:
    - updateData:
        name: Tier
        statements:
          - string: {variable: Common.tier, value: {lit: gold}}
"""

INBOUND = """inboundCall:
  name: Contract IVR
  defaultLanguage: en-us
  startUpRef: "/inboundCall/tasks/task[Main]"
  tasks:
    - task:
        name: Main
        refId: Main
        actions:
          - callCommonModule:
              name: Lookup
              commonModule:
                Contract Module:
                  ver_latestPublished: {inputs: {}, outputs: {}}
          - transferToAcd:
              name: Transfer
              targetQueue: {lit: {name: General}}
          - disconnect:
              name: Goodbye
"""


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def run_job(architect, yaml_text):
    job = architect.post_flows_jobs()
    check(isinstance(job, gc.RegisterArchitectJobResponse), "RegisterArchitectJobResponse")
    check(job.id and job.presigned_url and job.headers, f"job registration: {job}")
    req = urllib.request.Request(job.presigned_url, data=yaml_text.encode(), method="PUT")
    for k, v in job.headers.items():
        req.add_header(k, v)
    with urllib.request.urlopen(req) as resp:
        check(resp.status == 200, f"upload status {resp.status}")
    deadline = time.time() + 30
    while True:
        state = architect.get_flows_job(job.id, expand=["messages"])
        check(isinstance(state, gc.ArchitectJobStateResponse), "ArchitectJobStateResponse")
        if state.status in ("Success", "Failure"):
            break
        check(time.time() < deadline, f"job {job.id} stuck in {state.status}")
        time.sleep(0.05)
    check(state.status == "Success", f"job failed: {[m.text for m in state.messages or []]}")
    check(state.command == "Publish", "command")
    check(state.flow is not None and state.flow.id, "job names its flow")
    return state


def admin_post(base, path, body):
    """Creates an org object through the sandbox's admin API (not a Genesys endpoint)."""
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        check(resp.status in (200, 201), f"{path}: status {resp.status}")


def org_objects(base, api_client):
    """The four org-object listings, read with the SDK's own API classes and models: every
    field the preflight reads must land in a model attribute (a wrong JSON name would leave
    it None)."""
    admin_post(base, "/sandbox/data-actions", {
        "integration": "Contract DB", "name": "Check PIN",
        "inputs": {"account": "string", "pin": "string"},
        "outputs": {"status": "string", "tries": "integer"},
        "responses": [{"outputs": {"status": "ok"}}]})
    admin_post(base, "/sandbox/data-tables", {
        "name": "Contract Accounts", "key": "account", "columns": {"tier": "string"},
        "rows": {"1001": {"tier": "gold"}}})
    admin_post(base, "/sandbox/schedule-groups", {"name": "Contract Hours", "state": "open"})
    admin_post(base, "/sandbox/prompts", {"name": "Contract_Welcome"})
    admin_post(base, "/sandbox/prompts", {"name": "Contract_Bye"})

    integrations = gc.IntegrationsApi(api_client)
    actions = integrations.get_integrations_actions(category="Contract DB", name="Check PIN")
    check(isinstance(actions, gc.ActionEntityListing), "ActionEntityListing")
    check(len(actions.entities) == 1 and actions.total == 1, f"actions {actions}")
    action = actions.entities[0]
    check(isinstance(action, gc.Action), "Action")
    check((action.category, action.name) == ("Contract DB", "Check PIN"), f"action {action}")
    check(action.id and action.integration_id and action.version == 1, f"action {action}")
    contract = action.contract
    check(isinstance(contract, gc.ActionContract), "ActionContract")
    check(isinstance(contract.input.input_schema, gc.JsonSchemaDocument), "inputSchema")
    check(sorted(contract.input.input_schema.properties) == ["account", "pin"],
          f"input schema {contract.input.input_schema}")
    success = contract.output.success_schema
    check(isinstance(success, gc.JsonSchemaDocument), "successSchema")
    check(success.properties["tries"]["type"] == "integer", f"success schema {success}")

    architect = gc.ArchitectApi(api_client)
    tables = architect.get_flows_datatables(expand="schema", name="Contract Accounts")
    check(isinstance(tables, gc.DataTablesDomainEntityListing), "DataTablesDomainEntityListing")
    check([t.name for t in tables.entities] == ["Contract Accounts"], f"tables {tables}")
    table = tables.entities[0]
    check(isinstance(table, gc.DataTable) and table.division.name == "Home", f"table {table}")
    check(isinstance(table.schema, gc.JsonSchemaDocument), "DataTable.schema")
    check(table.schema.properties["key"]["title"] == "account", f"key column {table.schema}")
    check(sorted(table.schema.properties) == ["key", "tier"], f"columns {table.schema}")

    groups = architect.get_architect_schedulegroups(name="Contract Hours")
    check(isinstance(groups, gc.ScheduleGroupEntityListing), "ScheduleGroupEntityListing")
    check([g.name for g in groups.entities] == ["Contract Hours"], f"groups {groups}")
    group = groups.entities[0]
    check(isinstance(group, gc.ScheduleGroup) and group.state == "active", f"group {group}")
    check(group.time_zone and group.date_created is not None, f"group {group}")
    check(group.open_schedules == [], f"group {group}")

    prompts = architect.get_architect_prompts(name=["Contract_Welcome", "Contract_Bye"])
    check(isinstance(prompts, gc.PromptEntityListing), "PromptEntityListing")
    check(sorted(p.name for p in prompts.entities) == ["Contract_Bye", "Contract_Welcome"],
          f"prompts {prompts}")
    check(all(isinstance(p, gc.Prompt) and p.id and p.division.name == "Home"
              for p in prompts.entities), f"Prompt {prompts}")


def main():
    base = sys.argv[1].rstrip("/")
    client_id = sys.argv[2] if len(sys.argv) > 2 else "sandbox"
    secret = sys.argv[3] if len(sys.argv) > 3 else "sandbox-secret"

    api_client = gc.api_client.ApiClient(host=base)
    api_client = api_client.get_client_credentials_token(client_id, secret)
    check(api_client.access_token, "access token")
    architect = gc.ArchitectApi(api_client)
    routing = gc.RoutingApi(api_client)

    module_job = run_job(architect, MODULE)
    run_job(architect, MODULE)  # version 2.0
    ivr_job = run_job(architect, INBOUND)

    listing = architect.get_flows(name="Contract Module", type=["commonmodule"])
    check(isinstance(listing, gc.FlowEntityListing), "FlowEntityListing")
    matches = [f for f in listing.entities if f.name == "Contract Module"]
    check(len(matches) == 1, f"find the module by name and type: {listing}")
    module = matches[0]
    check(module.id == module_job.flow.id, "module id")
    check(module.type == "COMMONMODULE", "module type")
    check(module.published_version.id == "2.0", f"published version {module.published_version}")
    check(listing.page_count == 1 and listing.total == 1, "paging")

    flow = architect.get_flow(module.id)
    check(isinstance(flow, gc.Flow) and flow.division.name == "Home", "Flow")

    versions = architect.get_flow_versions(module.id)
    check(isinstance(versions, gc.FlowVersionEntityListing), "FlowVersionEntityListing")
    check(sorted(v.id for v in versions.entities) == ["1.0", "2.0"], f"versions {versions}")
    check(all(v.date_published is not None for v in versions.entities), "datePublished")

    deps = architect.get_architect_dependencytracking_consumingresources(
        module.id, "COMMONMODULEFLOW")
    check([d.id for d in deps.entities] == [ivr_job.flow.id], f"consumers {deps}")
    check(deps.entities[0].type == "INBOUNDCALLFLOW", "dependency type")

    queues = routing.get_routing_queues(name="General")
    check(isinstance(queues, gc.QueueEntityListing), "QueueEntityListing")
    check([q.name for q in queues.entities] == ["General"], f"queues {queues}")
    queue = routing.get_routing_queue(queues.entities[0].id)
    check(queue.name == "General", "queue")

    # The export of a published version (RegisterArchitectExportJob, ExportDetails,
    # ArchitectFlowReference → RegisterArchitectExportJobResponse; then
    # ArchitectExportJobStateResponse with its downloadUrl, fetched without a token).
    export = gc.RegisterArchitectExportJob()
    details = gc.ExportDetails()
    ref = gc.ArchitectFlowReference()
    ref.id = module.id
    ref.version = "2.0"
    details.flow = ref
    details.export_type = "Yaml"
    export.flows = [details]
    registered = architect.post_flows_export_jobs(export)
    check(isinstance(registered, gc.RegisterArchitectExportJobResponse), "RegisterArchitectExportJobResponse")
    check(registered.id and registered.total_flows == 1, f"export registration: {registered}")
    deadline = time.time() + 30
    while True:
        state = architect.get_flows_export_job(registered.id, expand=["messages"])
        check(isinstance(state, gc.ArchitectExportJobStateResponse), "ArchitectExportJobStateResponse")
        if state.status in ("Success", "Failure"):
            break
        check(time.time() < deadline, f"export {registered.id} stuck in {state.status}")
        time.sleep(0.05)
    check(state.status == "Success" and state.command == "Export", f"export: {state}")
    with urllib.request.urlopen(state.download_url) as resp:
        exported = resp.read().decode()
    check(exported == MODULE, "the export is the published YAML")

    op = architect.post_flows_actions_checkout(module.id)
    check(isinstance(op, gc.Flow) and op.locked_client is not None, "checkout")
    op = architect.post_flows_actions_checkin(module.id)
    check(isinstance(op, gc.Operation) and op.action_name == "CHECKIN", "checkin")
    op = architect.post_flows_actions_publish(module.id)
    check(isinstance(op, gc.Operation) and op.action_status == "SUCCESS", "publish")
    unlocked = architect.post_flows_actions_unlock(module.id)
    check(isinstance(unlocked, gc.Flow), "unlock")

    org_objects(base, api_client)

    try:
        architect.get_flow("00000000-0000-0000-0000-000000000000")
        raise AssertionError("expected a 404")
    except ApiException as e:
        check(e.status == 404, f"status {e.status}")

    print("SDK contract OK: login, job, upload, poll, find by name and type, versions, export, "
          "dependencies, queues, actions, data actions, data tables, schedule groups, prompts, 404")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # any deserialisation error lands here
        import traceback
        traceback.print_exc()
        print(f"SDK contract FAILED: {e!r}", file=sys.stderr)
        sys.exit(1)
