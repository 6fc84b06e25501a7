#!/usr/bin/env python3
"""Drives the flowsmith sandbox with the official Genesys Cloud Python SDK
(purecloudplatformclientv2). Usage: contract.py BASE_URL [CLIENT_ID CLIENT_SECRET]

Exits 0 when every call succeeded and every answer deserialised into the SDK's models;
exits 2 when the SDK is not installed; 1 on any other failure.
"""
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

    op = architect.post_flows_actions_checkout(module.id)
    check(isinstance(op, gc.Flow) and op.locked_client is not None, "checkout")
    op = architect.post_flows_actions_checkin(module.id)
    check(isinstance(op, gc.Operation) and op.action_name == "CHECKIN", "checkin")
    op = architect.post_flows_actions_publish(module.id)
    check(isinstance(op, gc.Operation) and op.action_status == "SUCCESS", "publish")
    unlocked = architect.post_flows_actions_unlock(module.id)
    check(isinstance(unlocked, gc.Flow), "unlock")

    try:
        architect.get_flow("00000000-0000-0000-0000-000000000000")
        raise AssertionError("expected a 404")
    except ApiException as e:
        check(e.status == 404, f"status {e.status}")

    print("SDK contract OK: login, job, upload, poll, find by name and type, versions, "
          "dependencies, queues, actions, 404")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # any deserialisation error lands here
        import traceback
        traceback.print_exc()
        print(f"SDK contract FAILED: {e!r}", file=sys.stderr)
        sys.exit(1)
