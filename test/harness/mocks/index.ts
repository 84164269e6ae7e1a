/** Mock runtimes for kube-pki tests: a recording program runner, echo mocks and executing mocks. */
export { runProgram, ProgramRunError, type RunProgramOptions } from "./run-program";
export type { ResourceRecord, RunResult, ProgramOutput, RunAwareMocks, RecordedResourceArgs } from "./records";
export { createEchoMocks, FAKE_KEY_MARK } from "./echo-mocks";
export { createExecutingMocks, type ExecutingMocks, type ExecutingMocksOptions } from "./executing-mocks";
export { MockStateStore, type RunReport, type StoredResource, type Operation, type ExecutionEvent } from "./state-store";
export { UNKNOWN } from "./wire-values";
export { startLoopbackSshd, sshdPrerequisites, type LoopbackSshd } from "./loopback-sshd";
