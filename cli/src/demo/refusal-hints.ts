/**
 * What a refusal of the demo's uploads usually means, and what to check. The demo signs with a
 * device certificate it issues from the registration-client CA of its own key file; the
 * platform trusts the CA of *its* key file only. Two key files (another REGISTO_DATA_DIR or
 * REGISTO_KEYS_FILE, another working directory) are the common cause.
 */
export function refusalHints(refusedCodes: Record<string, number>, keysFile: string): string[] {
  const hints: string[] = [];
  if (refusedCodes.PACKET_SIGNER_UNTRUSTED) {
    hints.push(
      `PACKET_SIGNER_UNTRUSTED: the platform does not trust the demo's registration-client CA, from the key file ${keysFile}; ` +
        'run the demo with the REGISTO_DATA_DIR (or REGISTO_KEYS_FILE) the platform runs with — its start-up line "what this platform uses" names its key file',
    );
  }
  return hints;
}
