import type { RoleModule } from '../composition/role.js';
import { apiRole } from './api.js';
import { checkpointerRole } from './checkpointer.js';
import { credentialsRole } from './credentials.js';
import { mirrorRole } from './mirror.js';
import { processRole } from './process.js';
import { projectorRole } from './projector.js';
import { syncRole } from './sync.js';

/** Every role, in start order: the api last, so that it listens once everything it reports on runs. */
export const ROLE_MODULES: readonly RoleModule[] = [mirrorRole, projectorRole, processRole, credentialsRole, checkpointerRole, syncRole, apiRole];
