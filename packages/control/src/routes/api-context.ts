/**
 * What route handlers reach: the services, the live state and this node's description.
 * @module
 */
import type { ClusterRuntime } from '../cluster/cluster-runtime.js';
import type { Admission } from '../enforcement/admission.js';
import { ApiProblem } from '../errors.js';
import type { Principal } from '../http/route.js';
import type { ResolvedOptions } from '../options.js';
import type { RelayNode } from '../relay-node.js';
import type { AccessService } from '../services/access-service.js';
import type { AppService } from '../services/app-service.js';
import type { NodeService } from '../services/node-service.js';
import type { Store } from '../store/open.js';
import type { UsageRepo } from '../store/usage-repo.js';
import type { BandwidthHistory } from '../usage/bandwidth.js';

/** The dependencies of the routes. */
export interface ApiContext {
  readonly apps: AppService;
  readonly access: AccessService;
  readonly usage: UsageRepo;
  readonly store: Store;
  readonly admission: Admission;
  readonly bandwidth: BandwidthHistory;
  readonly relay: RelayNode | undefined;
  readonly node: ResolvedOptions['node'];
  readonly nodeService: NodeService;
  /** Cluster mode's runtime (registry, stores' health); undefined on a single node. */
  readonly cluster: ClusterRuntime | undefined;
  /** Flushes pending usage to the store (so that a usage query sees everything). */
  readonly flushUsage: () => Promise<void>;
}

/**
 * The app a request may look at: the one it names, which an app key or client token must own;
 * for an app key without a named app, its own app; for the admin, the named one or all.
 */
export function scopedAppId(
  principal: Principal,
  requested: string | undefined,
): string | undefined {
  switch (principal.kind) {
    case 'admin':
    case 'anonymous':
      return requested;
    case 'app':
    case 'client': {
      const own = principal.kind === 'app' ? principal.appId : principal.scope.appId;
      if (requested !== undefined && requested !== own)
        throw new ApiProblem('forbidden', `this token is not valid for app ${requested}`);
      return own;
    }
  }
}
