import { RegistoError } from '@registo/schemas';

type Graphene = typeof import('graphene-pk11');

let binding: Graphene | undefined;

/**
 * graphene-pk11 (and the pkcs11js native addon under it) is loaded only when a PKCS#11 token is
 * opened, so that a process that never uses one — non_qualified mode — runs even where the addon
 * was not built; where it was not, qualified mode says so instead of failing at import.
 */
export async function loadGraphene(): Promise<Graphene> {
  if (!binding) {
    try {
      const imported = (await import('graphene-pk11')) as Graphene & { default?: Graphene };
      binding = imported.default ?? imported;
    } catch (error) {
      throw new RegistoError(
        'CONFIG_INVALID',
        `the PKCS#11 binding (graphene-pk11 and its native addon pkcs11js) cannot be loaded: ${(error as Error).message}; build it with \`npm rebuild pkcs11js\``,
      );
    }
  }
  return binding;
}

/** The binding, once `loadGraphene()` has loaded it (every token object exists only after that). */
export function graphene(): Graphene {
  if (!binding) throw new RegistoError('HSM_UNAVAILABLE', 'the PKCS#11 binding is not loaded: open a token first');
  return binding;
}
