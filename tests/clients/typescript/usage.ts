// Compiled with `tsc --strict --noEmit` against the types openapi-typescript generates from
// openapi.yaml (tests/clients.rs): what a typed caller writes must type-check.
import type { components, paths } from "./flowsmith";

type S = components["schemas"];

// A template document with free-form node properties and the nulls its schema allows.
export const doc: S["TemplateDocument"] = {
  name: "Hello",
  type: "module",
  description: null,
  draft: {
    startNode: "Ask",
    nodes: {
      Ask: {
        id: "Ask",
        type: "Gather",
        properties: { promptText: "Press 1", maxDigits: 1 },
        onComplete: { nextNode: "Done", onError: null },
        onError: { nextNode: "Done" },
      },
      Done: { id: "Done", type: "End", properties: null },
    },
  },
};

// Free-form parameter objects take any members.
export const compile: S["CompileRequest"] = { params: { brand: "Acme", vip: true, tier: 2 } };
export const job: S["JobRequest"] = {
  target: "sandbox",
  flows: [{ template: "Hello", name: null, params: { brand: "Acme" } }],
};
export const sim: S["SimulationRequest"] = {
  template: "Hello",
  params: { billing_queue: "General" },
  inputs: [{ digits: "1" }, { timeout: true }],
};
export const language: unknown = ({} as S["Simulation"])["variables"]["caller_language"];

// Enums are enums.
export const done: S["JobStatus"] = "succeeded";
// @ts-expect-error: not a job status
export const wrong: S["JobStatus"] = "done";
export const format: NonNullable<paths["/v1/templates/{name}/diagram"]["get"]["parameters"]["query"]>["format"] = "dot";

// Declared answers and their media types.
export const dot: paths["/v1/templates/{name}/diagram"]["get"]["responses"][200]["content"]["text/vnd.graphviz"] =
  "digraph {}";
export const yaml: paths["/v1/templates/{name}/compile"]["post"]["responses"][200]["content"]["application/yaml"] =
  "inboundCall: {}";
export const problem: paths["/v1/validate"]["post"]["responses"][422]["content"]["application/problem+json"] = {
  type: "/problems/invalid-request",
  title: "Unprocessable Entity",
  status: 422,
  detail: "a template document must be a JSON object",
  errors: [{ code: "invalid_type", severity: "error", pointer: "", message: "expected an object" }],
};
