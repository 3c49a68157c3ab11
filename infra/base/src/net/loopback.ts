import { isIPv4, isIPv6 } from 'node:net';

/**
 * True when the peer is this machine (127.0.0.0/8, ::1, or an IPv4-mapped loopback address).
 * Anything else, including an unknown or malformed address, is not loopback.
 */
export function isLoopbackAddress(remoteAddress: string | undefined): boolean {
  if (!remoteAddress) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remoteAddress)?.[1];
  const v4 = mapped ?? remoteAddress;
  if (isIPv4(v4)) return v4.startsWith('127.');
  return isIPv6(remoteAddress) && (remoteAddress === '::1' || remoteAddress === '0:0:0:0:0:0:0:1');
}

/** A listening host only this machine reaches: a loopback address, or the name localhost. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || isLoopbackAddress(host);
}
