import { AsnConvert } from '@peculiar/asn1-schema';
import { AuthorityInfoAccessSyntax, Certificate, CRLDistributionPoints, id_ce_cRLDistributionPoints, id_pe_authorityInfoAccess } from '@peculiar/asn1-x509';
import { RegistoError } from '@registo/schemas';
import { ID_AD_OCSP } from './certificates.js';
import { TRUST_KEYS, type TrustRole, crlUrl, ocspUrl } from './profiles.js';

/** The OCSP and CRL URLs a certificate names (authority information access, CRL distribution points). */
export function certificateUrls(der: Buffer): string[] {
  const cert = AsnConvert.parse(der, Certificate);
  const urls: string[] = [];
  for (const ext of cert.tbsCertificate.extensions ?? []) {
    if (ext.extnID === id_pe_authorityInfoAccess) {
      for (const ad of AsnConvert.parse(ext.extnValue, AuthorityInfoAccessSyntax)) {
        if (ad.accessMethod === ID_AD_OCSP && ad.accessLocation.uniformResourceIdentifier) urls.push(ad.accessLocation.uniformResourceIdentifier);
      }
    } else if (ext.extnID === id_ce_cRLDistributionPoints) {
      for (const dp of AsnConvert.parse(ext.extnValue, CRLDistributionPoints)) {
        for (const name of dp.distributionPoint?.fullName ?? []) if (name.uniformResourceIdentifier) urls.push(name.uniformResourceIdentifier);
      }
    }
  }
  return urls;
}

/** The public URL a URL of ours was made from: `<base>/ocsp` or `<base>/crl/<ca>.crl`. */
function baseOf(url: string): string | null {
  const m = /^(.*?)\/(?:ocsp|crl\/[^/]+\.crl)$/.exec(url);
  return m ? m[1]! : null;
}

/**
 * Refuses a hierarchy whose certificates name another public URL than `publicUrl`: relying
 * parties would ask an OCSP responder and fetch CRLs where this platform does not answer. The
 * certificates are issued once (key ceremony, first start), so the URL they name is the one that
 * counts; the operator either keeps it or re-runs the ceremony for the new one.
 */
export function assertCertifiedPublicUrl(certificates: Readonly<Record<TrustRole, { der: Buffer }>>, publicUrl: string, trustDir: string): void {
  const expected = new Set([ocspUrl(publicUrl), ...TRUST_KEYS.filter((k) => k.urlName).map((k) => crlUrl(publicUrl, k.urlName!))]);
  for (const spec of TRUST_KEYS) {
    for (const url of certificateUrls(certificates[spec.role].der)) {
      if (expected.has(url)) continue;
      const certified = baseOf(url) ?? url;
      const reissue = TRUST_KEYS.filter((k) => k.issuer !== k.role).map((k) => k.file);
      throw new RegistoError(
        'PUBLIC_URL_MISMATCH',
        `the certificates in ${trustDir} name the public URL ${certified} (${spec.file}: ${url}), but this platform's public URL is ${publicUrl} ` +
          `(REGISTO_PUBLIC_URL, else http://<HOST or 127.0.0.1>:<PORT>). Either start with REGISTO_PUBLIC_URL=${certified}, ` +
          `or re-run the key ceremony for ${publicUrl}: move ${reissue.join(', ')} out of ${trustDir}, then run \`REGISTO_PUBLIC_URL=${publicUrl} registo keys init\` ` +
          `(same data directory; the keys are kept, the certificates are issued again naming the new URL)`,
        { configured: publicUrl, certified, file: spec.file, trustDir },
      );
    }
  }
}
