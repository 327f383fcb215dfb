/**
 * @cloudproxy/control: the control plane of cloudproxy: apps, capacity reservations enforced on
 * the in-process TURN relay, short-lived TURN credentials, revocation, the IP allowlist table and
 * usage metering, behind a JSON API (`/api/v1`, docs/api.md).
 * @module
 */
export { createControlPlane, adminTokenSha256, API_VERSION } from './control-plane.js';
export type { ControlPlane, ControlPlaneApps } from './control-plane.js';
export type { ControlPlaneOptions, NodeOptions } from './options.js';
export type { StoreOptions } from './store/open.js';
export { ApiProblem, ControlError, CONTROL_ERROR_CODES, PROBLEM_STATUS } from './errors.js';
export type { ProblemCode, ProblemBody } from './errors.js';
export { MODES, VIDEO_QUALITY_KBPS, maxBpsOf } from './model.js';
export type { App, Mode, Reservation, UsageRow, VideoQuality } from './model.js';
export type { CredentialsRequest, IssuedCredentials } from './services/access-service.js';
export type { CreateAppInput } from './services/app-service.js';
export { appUsername, parseAppUsername, restPassword } from './credentials/rest.js';
export type { AppUsername } from './credentials/rest.js';
export type {
  AdmissionDecision,
  AllocationRequestInfo,
  AllocationSnapshot,
  AllocationUsage,
  RelayHooks,
  RelayNode,
  RelayTransport,
} from './relay-node.js';
