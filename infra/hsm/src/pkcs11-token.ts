import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Module, PrivateKey, PublicKey, SecretKey, Session, SessionObject, Slot } from 'graphene-pk11';
import { RegistoError } from '@registo/schemas';
import { P256_PARAMS_DER, p256SpkiFromPoint } from './ecdsa.js';
import { graphene, loadGraphene } from './graphene.js';

export interface Pkcs11TokenOptions {
  /** Path of the PKCS#11 module (`REGISTO_PKCS11_MODULE`), e.g. `/usr/lib/softhsm/libsofthsm2.so`. */
  module: string;
  /** Label of the token (`REGISTO_PKCS11_TOKEN`): tokens are found by label, never by slot number. */
  tokenLabel: string;
  /** User PIN (`REGISTO_PKCS11_PIN`). */
  userPin: string;
  /**
   * Environment the module reads when it initialises, set in this process before it is loaded —
   * for SoftHSM2 `{ SOFTHSM2_CONF }`, so that nothing depends on system-wide SoftHSM state.
   */
  env?: Record<string, string | undefined>;
}

/** An ECDSA P-256 key pair held by the token. */
export interface Pkcs11EcKey {
  label: string;
  /** CKA_ID shared by the private and the public key. */
  id: Buffer;
  privateKey: PrivateKey;
  publicKey: PublicKey;
  /** DER SubjectPublicKeyInfo of the public key. */
  spki: Buffer;
  /** True when this call generated the pair. */
  created: boolean;
}

/** An AES-256 key held by the token (a key-encryption key). */
export interface Pkcs11AesKey {
  label: string;
  id: Buffer;
  key: SecretKey;
  created: boolean;
}

/** What the token says about one object: the attributes that decide whether a key can ever leave it. */
export interface Pkcs11KeyAttributes {
  label: string;
  class: 'private' | 'public' | 'secret';
  keyType: 'ec' | 'aes' | 'other';
  id: string;
  token: boolean;
  private: boolean;
  /** Private and secret keys only. */
  sensitive?: boolean;
  extractable?: boolean;
  alwaysSensitive?: boolean;
  neverExtractable?: boolean;
  /** Generated inside the token (not imported). */
  local: boolean;
  sign?: boolean;
  verify?: boolean;
  wrap?: boolean;
  unwrap?: boolean;
  encrypt?: boolean;
  decrypt?: boolean;
  derive?: boolean;
}

/** The PKCS#11 return value's name in an error from graphene / pkcs11js (`CKR_PIN_INCORRECT`, …). */
export function pkcs11ReturnCode(error: unknown): string | undefined {
  return /CKR_[A-Z0-9_]+/.exec(error instanceof Error ? error.message : String(error))?.[0];
}

/** Return values that mean the token or the session is gone, not that the request was wrong. */
const UNAVAILABLE_CODES = new Set([
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_SESSION_CLOSED',
  'CKR_DEVICE_REMOVED',
  'CKR_DEVICE_ERROR',
  'CKR_DEVICE_MEMORY',
  'CKR_HOST_MEMORY',
  'CKR_TOKEN_NOT_PRESENT',
  'CKR_TOKEN_NOT_RECOGNIZED',
  'CKR_CRYPTOKI_NOT_INITIALIZED',
  'CKR_USER_NOT_LOGGED_IN',
  'CKR_FUNCTION_FAILED',
]);

export function isTokenUnavailable(error: unknown): boolean {
  const code = pkcs11ReturnCode(error);
  return code !== undefined && UNAVAILABLE_CODES.has(code);
}

const pinDigest = (pin: string) => createHash('sha256').update(`registo-pkcs11-pin\0${pin}`).digest();

/**
 * A PKCS#11 library is loaded and initialised once per process (C_Initialize is per process, and
 * C_Finalize ends every session of it), so opened tokens share one `Module` per library path,
 * counted, and finalised when the last one closes. Logging in is per token for the whole process:
 * a second open of a logged-in token must still prove it knows the PIN.
 */
interface LoadedModule {
  module: Module;
  path: string;
  /** The SOFTHSM2_CONF the library initialised with. */
  softhsmConf: string | undefined;
  refs: number;
  logins: Map<string, { pin: Buffer; sessions: number }>;
}

const loaded = new Map<string, LoadedModule>();

function configInvalid(message: string, details: Record<string, unknown>): RegistoError {
  return new RegistoError('CONFIG_INVALID', message, details);
}

function acquireModule(path: string, env: Record<string, string | undefined>): LoadedModule {
  if (!existsSync(path)) throw configInvalid(`PKCS#11 module ${path} does not exist (REGISTO_PKCS11_MODULE)`, { module: path });
  const key = realpathSync(path);
  if (env.SOFTHSM2_CONF !== undefined) {
    env = { ...env, SOFTHSM2_CONF: resolve(env.SOFTHSM2_CONF) };
    if (!existsSync(env.SOFTHSM2_CONF!)) {
      throw configInvalid(`SOFTHSM2_CONF ${env.SOFTHSM2_CONF} does not exist (PKCS#11 module ${path})`, { module: path, softhsmConf: env.SOFTHSM2_CONF });
    }
  }
  const conf = env.SOFTHSM2_CONF ?? process.env.SOFTHSM2_CONF;
  const softhsmConf = conf === undefined ? undefined : resolve(conf);
  const existing = loaded.get(key);
  if (existing) {
    if (existing.softhsmConf !== softhsmConf) {
      throw configInvalid(
        `PKCS#11 module ${path} is already initialised in this process with SOFTHSM2_CONF=${existing.softhsmConf ?? '(unset)'}, not ${softhsmConf ?? '(unset)'}`,
        { module: path },
      );
    }
    existing.refs++;
    return existing;
  }
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined) process.env[name] = value;
  }
  let module: Module;
  try {
    module = graphene().Module.load(path, 'registo');
  } catch (error) {
    throw configInvalid(`PKCS#11 module ${path} could not be loaded: ${(error as Error).message}`, { module: path });
  }
  try {
    // CKF_OS_LOCKING_OK: sessions may be used from libuv worker threads (asynchronous C_Sign on
    // several sessions at once); without it SoftHSM2 turns its own locking off.
    module.initialize({ flags: 0x2 });
  } catch (error) {
    try {
      module.close();
    } catch {
      // nothing more to release
    }
    const hint = softhsmConf ? ` (SOFTHSM2_CONF=${softhsmConf})` : '';
    throw configInvalid(`PKCS#11 module ${path} did not initialise${hint}: ${(error as Error).message}`, { module: path });
  }
  const entry: LoadedModule = { module, path: key, softhsmConf, refs: 1, logins: new Map() };
  loaded.set(key, entry);
  return entry;
}

function releaseModule(entry: LoadedModule): void {
  entry.refs--;
  if (entry.refs > 0) return;
  loaded.delete(entry.path);
  try {
    entry.module.finalize();
  } catch {
    // already finalised
  }
  try {
    entry.module.close();
  } catch {
    // already closed
  }
}

function tokenLabels(module: Module): { slot: Slot; label: string; serial: string }[] {
  const found: { slot: Slot; label: string; serial: string }[] = [];
  const slots = module.getSlots(true);
  for (let i = 0; i < slots.length; i++) {
    const slot = slots.items(i);
    try {
      const token = slot.getToken();
      // CKF_TOKEN_INITIALIZED: a free SoftHSM slot has an empty, uninitialised token.
      if ((token.flags & 0x400) === 0) continue;
      found.push({ slot, label: token.label.trim(), serial: token.serialNumber.trim() });
    } catch {
      // a slot whose token went away while we looked
    }
  }
  return found;
}

type KeyClass = 'private' | 'public' | 'secret';
// CKO_PUBLIC_KEY, CKO_PRIVATE_KEY, CKO_SECRET_KEY
const CLASS: Record<KeyClass, number> = { public: 2, private: 3, secret: 4 };

/** The attributes every key the token keeps shares: a token object, private, sensitive, never extractable. */
const KEPT_IN_TOKEN = { token: true, private: true, sensitive: true, extractable: false };

/**
 * One logged-in read-write session on a PKCS#11 token found by its label. Keys are generated
 * inside the token, never extractable; the token's own attributes can be read back to prove it.
 * Calls into the token are synchronous and one at a time (a session runs one operation at a time).
 */
/** Tokens this process has open (each one logged-in session); see `Pkcs11Token.openCount`. */
let openTokens = 0;

export class Pkcs11Token {
  private closed = false;
  /** Find-or-generate must not interleave: two calls for one label would both generate. */
  private generating: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly loadedModule: LoadedModule,
    private readonly graphSession: Session,
    private readonly serial: string,
    readonly modulePath: string,
    readonly tokenLabel: string,
  ) {}

  /**
   * Loads and initialises the module (once per process), finds the token by label, opens a
   * read-write session and logs in as the user. Every failure — module missing or not loadable,
   * no token with that label, wrong or locked PIN — is a CONFIG_INVALID naming what was asked for.
   */
  static async open(options: Pkcs11TokenOptions): Promise<Pkcs11Token> {
    const { module: path, tokenLabel, userPin } = options;
    const where = { module: path, tokenLabel };
    await loadGraphene();
    const entry = acquireModule(path, options.env ?? {});
    let session: Session | undefined;
    try {
      const tokens = tokenLabels(entry.module);
      const matches = tokens.filter((t) => t.label === tokenLabel);
      if (matches.length === 0) {
        const known = tokens.map((t) => t.label).join(', ') || 'none';
        const conf = entry.softhsmConf ? ` (SOFTHSM2_CONF=${entry.softhsmConf})` : '';
        // Modules such as SoftHSM2 read their token list when initialised, once per process.
        const stale = entry.refs > 1 ? '; a token created after this process initialised the module appears once every token it opened is closed' : '';
        throw configInvalid(`no PKCS#11 token labelled "${tokenLabel}" in module ${path}${conf}; tokens there: ${known}${stale}`, where);
      }
      if (matches.length > 1) throw configInvalid(`${matches.length} PKCS#11 tokens are labelled "${tokenLabel}" in module ${path}; labels must be unique`, where);
      const { slot, serial } = matches[0]!;
      try {
        session = slot.open(graphene().SessionFlag.RW_SESSION | graphene().SessionFlag.SERIAL_SESSION);
      } catch (error) {
        throw configInvalid(`cannot open a session on PKCS#11 token "${tokenLabel}" (module ${path}): ${(error as Error).message}`, where);
      }
      const login = entry.logins.get(serial);
      const pin = pinDigest(userPin);
      if (login) {
        // Already logged in by another open in this process: C_Login would not check the PIN again.
        if (!timingSafeEqual(login.pin, pin)) throw configInvalid(`wrong user PIN for PKCS#11 token "${tokenLabel}" (module ${path})`, where);
        login.sessions++;
      } else {
        try {
          session.login(userPin, graphene().UserType.USER);
        } catch (error) {
          const code = pkcs11ReturnCode(error);
          if (code !== 'CKR_USER_ALREADY_LOGGED_IN') {
            const why =
              code === 'CKR_PIN_INCORRECT' ? 'wrong user PIN'
              : code === 'CKR_PIN_LOCKED' ? 'the user PIN is locked'
              : code === 'CKR_USER_PIN_NOT_INITIALIZED' ? 'the user PIN was never set'
              : code === 'CKR_PIN_LEN_RANGE' ? 'the user PIN has the wrong length'
              : `login failed (${(error as Error).message})`;
            throw configInvalid(`${why} for PKCS#11 token "${tokenLabel}" (module ${path})`, where);
          }
        }
        entry.logins.set(serial, { pin, sessions: 1 });
      }
      const token = new Pkcs11Token(entry, session, serial, path, tokenLabel);
      openTokens++;
      return token;
    } catch (error) {
      try {
        session?.close();
      } catch {
        // the session is gone anyway
      }
      releaseModule(entry);
      throw error;
    }
  }

  /** The graphene session, for operations this class does not wrap. Valid until `close()`. */
  get session(): Session {
    if (this.closed) throw new RegistoError('HSM_UNAVAILABLE', `PKCS#11 token "${this.tokenLabel}" is closed`, { tokenLabel: this.tokenLabel });
    return this.graphSession;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** How many tokens this process holds open: a start-up that failed must leave none. */
  static openCount(): number {
    return openTokens;
  }

  /**
   * Runs `fn` with the session; a token or session that went away becomes HSM_UNAVAILABLE, other
   * errors pass through unchanged.
   */
  use<T>(fn: (session: Session) => T): T {
    const session = this.session;
    try {
      return fn(session);
    } catch (error) {
      if (isTokenUnavailable(error)) {
        throw new RegistoError('HSM_UNAVAILABLE', `PKCS#11 token "${this.tokenLabel}" (module ${this.modulePath}): ${(error as Error).message}`, {
          tokenLabel: this.tokenLabel,
          module: this.modulePath,
        });
      }
      throw error;
    }
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.generating.then(fn, fn);
    this.generating = run.catch(() => undefined);
    return run;
  }

  private findAll(kind: KeyClass, label: string): SessionObject[] {
    return this.use((s) => {
      const found = s.find({ class: CLASS[kind], label });
      const items: SessionObject[] = [];
      for (let i = 0; i < found.length; i++) items.push(found.items(i));
      return items;
    });
  }

  private findOne(kind: KeyClass, label: string): SessionObject | undefined {
    const found = this.findAll(kind, label);
    if (found.length > 1) {
      throw configInvalid(`${found.length} ${kind} keys are labelled "${label}" on PKCS#11 token "${this.tokenLabel}"; labels must be unique`, {
        tokenLabel: this.tokenLabel,
        keyLabel: label,
      });
    }
    return found[0];
  }

  private ecPair(label: string, privateObject: SessionObject, publicObject: SessionObject, created: boolean): Pkcs11EcKey {
    const { KeyType } = graphene();
    const privateKey = privateObject.toType<PrivateKey>();
    const publicKey = publicObject.toType<PublicKey>();
    const where = { tokenLabel: this.tokenLabel, keyLabel: label };
    // CKA_EC_PARAMS: graphene reads it back under its older name, paramsECDSA.
    const attributes = this.use(() => publicKey.getAttribute({ keyType: null, paramsECDSA: null, pointEC: null, id: null }));
    if (attributes.keyType !== KeyType.EC || !attributes.paramsECDSA?.equals(P256_PARAMS_DER) || privateKey.type !== KeyType.EC) {
      throw configInvalid(`key "${label}" on PKCS#11 token "${this.tokenLabel}" is not an EC P-256 key`, where);
    }
    return { label, id: Buffer.from(attributes.id ?? Buffer.alloc(0)), privateKey, publicKey, spki: p256SpkiFromPoint(attributes.pointEC!), created };
  }

  /** The ECDSA P-256 pair labelled `label`, or undefined when the token has none. */
  async findEcKey(label: string): Promise<Pkcs11EcKey | undefined> {
    const privateObject = this.findOne('private', label);
    const publicObject = this.findOne('public', label);
    if (!privateObject && !publicObject) return undefined;
    if (!privateObject || !publicObject) {
      throw configInvalid(`PKCS#11 token "${this.tokenLabel}" holds the ${privateObject ? 'private' : 'public'} half of key "${label}" but not the other`, {
        tokenLabel: this.tokenLabel,
        keyLabel: label,
      });
    }
    return this.ecPair(label, privateObject, publicObject, false);
  }

  /**
   * The ECDSA P-256 pair labelled `label`, generated inside the token when there is none: a token
   * object, private and sensitive, never extractable, usable only to sign (its public half only to
   * verify). Re-running returns the existing pair; it never replaces a key.
   */
  ensureEcKey(label: string): Promise<Pkcs11EcKey> {
    return this.exclusive(() => this.findOrGenerateEcKey(label, 'sign'));
  }

  /**
   * The EC P-256 key-agreement pair labelled `label` (the intake key packets are encrypted to),
   * generated inside the token when there is none: private, sensitive, never extractable, usable
   * only to derive (CKM_ECDH1_DERIVE) — not to sign. Re-running returns the existing pair.
   */
  ensureEcDeriveKey(label: string): Promise<Pkcs11EcKey> {
    return this.exclusive(() => this.findOrGenerateEcKey(label, 'derive'));
  }

  /** One usage per key: a signing key cannot derive and a key-agreement key cannot sign. */
  private async findOrGenerateEcKey(label: string, usage: 'sign' | 'derive'): Promise<Pkcs11EcKey> {
    const existing = await this.findEcKey(label);
    if (existing) return existing;
    const { KeyGenMechanism, KeyType, ObjectClass } = graphene();
    const id = randomBytes(16);
    const sign = usage === 'sign';
    const pair = this.use((s) =>
      s.generateKeyPair(
        KeyGenMechanism.EC,
        { class: ObjectClass.PUBLIC_KEY, keyType: KeyType.EC, token: true, private: false, label, id, paramsEC: P256_PARAMS_DER, verify: sign, encrypt: false, wrap: false, derive: false },
        {
          class: ObjectClass.PRIVATE_KEY,
          keyType: KeyType.EC,
          ...KEPT_IN_TOKEN,
          label,
          id,
          sign,
          signRecover: false,
          decrypt: false,
          unwrap: false,
          derive: !sign,
        },
      ),
    );
    return this.ecPair(label, pair.privateKey, pair.publicKey, true);
  }

  /**
   * ECDH (CKM_ECDH1_DERIVE, no KDF) between the token's private key and a peer's uncompressed
   * P-256 point: the shared secret Z. The token derives it as a session object (CKA_TOKEN false)
   * that is read once and destroyed at once; the private key never leaves the token. A point not
   * on the curve is refused by the token (the caller also checks it first).
   */
  ecdhSharedSecret(privateKey: PrivateKey, peerPoint: Buffer): Buffer {
    const { EcdhParams, EcKdf, KeyType, ObjectClass } = graphene();
    return this.use((s) => {
      const derived = s.deriveKey(
        { name: 'ECDH1_DERIVE', params: new EcdhParams(EcKdf.NULL, null, peerPoint) },
        privateKey,
        { class: ObjectClass.SECRET_KEY, keyType: KeyType.GENERIC_SECRET, token: false, private: true, sensitive: false, extractable: true, valueLen: 32, derive: false, sign: false, encrypt: false, decrypt: false, wrap: false, unwrap: false },
      );
      try {
        return Buffer.from(derived.getAttribute({ value: null }).value!);
      } finally {
        derived.destroy();
      }
    });
  }

  /** The AES key labelled `label`, or undefined. */
  async findAesKey(label: string): Promise<Pkcs11AesKey | undefined> {
    return this.findSecretKey(label, graphene().KeyType.AES, 'an AES key');
  }

  /** The secret key labelled `label`, or undefined; a key of another type under that label is a configuration error. */
  private findSecretKey(label: string, keyType: number, what: string): Pkcs11AesKey | undefined {
    const object = this.findOne('secret', label);
    if (!object) return undefined;
    const key = object.toType<SecretKey>();
    const attributes = this.use(() => key.getAttribute({ keyType: null, id: null }));
    if (attributes.keyType !== keyType) throw configInvalid(`key "${label}" on PKCS#11 token "${this.tokenLabel}" is not ${what}`, { tokenLabel: this.tokenLabel, keyLabel: label });
    return { label, id: Buffer.from(attributes.id ?? Buffer.alloc(0)), key, created: false };
  }

  /**
   * A new 256-bit secret key generated inside the token: a token object, private and sensitive,
   * never extractable, allowed only the uses named in `use` (wrap/unwrap or sign/verify).
   */
  private generateSecretKey(label: string, mechanism: number, keyType: number, use: 'wrap' | 'sign'): Pkcs11AesKey {
    const { ObjectClass } = graphene();
    const id = randomBytes(16);
    const wrap = use === 'wrap';
    const key = this.use((s) =>
      s.generateKey(mechanism, {
        class: ObjectClass.SECRET_KEY,
        keyType,
        valueLen: 32,
        ...KEPT_IN_TOKEN,
        label,
        id,
        wrap,
        unwrap: wrap,
        sign: !wrap,
        verify: !wrap,
        encrypt: false,
        decrypt: false,
        derive: false,
      }),
    );
    return { label, id, key, created: true };
  }

  /**
   * The AES-256 key labelled `label`, generated inside the token when there is none: a token
   * object, private and sensitive, never extractable, usable only to wrap and unwrap keys.
   * Re-running returns the existing key.
   */
  ensureAesKey(label: string): Promise<Pkcs11AesKey> {
    return this.exclusive(() => this.findOrGenerateAesKey(label));
  }

  private async findOrGenerateAesKey(label: string): Promise<Pkcs11AesKey> {
    const existing = await this.findAesKey(label);
    if (existing) return existing;
    const { KeyGenMechanism, KeyType } = graphene();
    return this.generateSecretKey(label, KeyGenMechanism.AES, KeyType.AES, 'wrap');
  }

  /** The HMAC key (CKK_GENERIC_SECRET) labelled `label`, or undefined. */
  async findHmacKey(label: string): Promise<Pkcs11AesKey | undefined> {
    return this.findSecretKey(label, graphene().KeyType.GENERIC_SECRET, 'an HMAC (generic secret) key');
  }

  /**
   * The 256-bit HMAC key labelled `label` (CKM_GENERIC_SECRET_KEY_GEN), generated inside the token
   * when there is none: a token object, private and sensitive, never extractable, usable only to
   * sign and verify (CKM_SHA256_HMAC). Re-running returns the existing key.
   */
  ensureHmacKey(label: string): Promise<Pkcs11AesKey> {
    return this.exclusive(async () => {
      const existing = await this.findHmacKey(label);
      if (existing) return existing;
      const { KeyGenMechanism, KeyType } = graphene();
      return this.generateSecretKey(label, KeyGenMechanism.GENERIC_SECRET, KeyType.GENERIC_SECRET, 'sign');
    });
  }

  /**
   * Puts a known HMAC key into the token (non-extractable from then on): for carrying over the
   * development key file's blind-index and UIN keys, so existing indexes stay valid, and for
   * known-answer tests. Recorded as imported (CKA_LOCAL false).
   */
  importHmacKey(label: string, value: Buffer): Promise<Pkcs11AesKey> {
    return this.exclusive(async () => {
      if (value.length < 32) throw configInvalid(`an HMAC-SHA256 key of ${value.length} bytes is too short (at least 32)`, { keyLabel: label });
      if (this.findAll('secret', label).length > 0) throw configInvalid(`PKCS#11 token "${this.tokenLabel}" already holds a key labelled "${label}"`, { tokenLabel: this.tokenLabel, keyLabel: label });
      const { KeyType, ObjectClass } = graphene();
      const id = randomBytes(16);
      const key = this.use((s) =>
        s.create({ class: ObjectClass.SECRET_KEY, keyType: KeyType.GENERIC_SECRET, ...KEPT_IN_TOKEN, label, id, value, sign: true, verify: true }).toType<SecretKey>(),
      );
      return { label, id, key, created: true };
    });
  }

  /**
   * Puts a known AES key into the token (non-extractable from then on) — for migrating a KEK and
   * for known-answer tests. The token records it as not generated inside it (CKA_LOCAL false), so
   * qualified mode does not accept it as a key that never left the token.
   */
  importAesKey(label: string, value: Buffer): Promise<Pkcs11AesKey> {
    return this.exclusive(async () => this.createAesKey(label, value));
  }

  private createAesKey(label: string, value: Buffer): Pkcs11AesKey {
    if (![16, 24, 32].includes(value.length)) throw configInvalid(`an AES key is 16, 24 or 32 bytes, not ${value.length}`, { keyLabel: label });
    if (this.findAll('secret', label).length > 0) throw configInvalid(`PKCS#11 token "${this.tokenLabel}" already holds a key labelled "${label}"`, { tokenLabel: this.tokenLabel, keyLabel: label });
    const { KeyType, ObjectClass } = graphene();
    const id = randomBytes(16);
    const key = this.use((s) =>
      s
        .create({
          class: ObjectClass.SECRET_KEY,
          keyType: KeyType.AES,
          ...KEPT_IN_TOKEN,
          label,
          id,
          value,
          wrap: true,
          unwrap: true,
          encrypt: false,
          decrypt: false,
        })
        .toType<SecretKey>(),
    );
    return { label, id, key, created: true };
  }

  /** The attributes of every key object labelled `label` (private, public and secret). */
  async keyAttributes(label: string): Promise<Pkcs11KeyAttributes[]> {
    const { KeyType } = graphene();
    const out: Pkcs11KeyAttributes[] = [];
    for (const kind of ['private', 'public', 'secret'] as const) {
      for (const object of this.findAll(kind, label)) {
        const common = this.use(() => object.getAttribute({ keyType: null, id: null, token: null, private: null, local: null }));
        const keyType = common.keyType === KeyType.EC ? 'ec' : common.keyType === KeyType.AES ? 'aes' : 'other';
        const base: Pkcs11KeyAttributes = {
          label,
          class: kind,
          keyType,
          id: Buffer.from(common.id ?? Buffer.alloc(0)).toString('hex'),
          token: Boolean(common.token),
          private: Boolean(common.private),
          local: Boolean(common.local),
        };
        if (kind === 'public') {
          const a = this.use(() => object.getAttribute({ verify: null, encrypt: null, wrap: null, derive: null }));
          out.push({ ...base, verify: Boolean(a.verify), encrypt: Boolean(a.encrypt), wrap: Boolean(a.wrap), derive: Boolean(a.derive) });
        } else {
          const a = this.use(() =>
            object.getAttribute({
              sensitive: null,
              extractable: null,
              alwaysSensitive: null,
              neverExtractable: null,
              sign: null,
              decrypt: null,
              unwrap: null,
              derive: null,
            }),
          );
          const extra = kind === 'secret' ? this.use(() => object.getAttribute({ encrypt: null, wrap: null, verify: null })) : {};
          out.push({
            ...base,
            sensitive: Boolean(a.sensitive),
            extractable: Boolean(a.extractable),
            alwaysSensitive: Boolean(a.alwaysSensitive),
            neverExtractable: Boolean(a.neverExtractable),
            sign: Boolean(a.sign),
            decrypt: Boolean(a.decrypt),
            unwrap: Boolean(a.unwrap),
            derive: Boolean(a.derive),
            ...(kind === 'secret' ? { encrypt: Boolean(extra.encrypt), wrap: Boolean(extra.wrap), verify: Boolean(extra.verify) } : {}),
          });
        }
      }
    }
    return out;
  }

  /**
   * What keeps the private or secret key labelled `label` from being a key that was generated in
   * this token and can never leave it; empty when nothing does.
   */
  async heldInTokenProblems(label: string): Promise<string[]> {
    const keys = (await this.keyAttributes(label)).filter((k) => k.class !== 'public');
    if (keys.length === 0) return [`no private or secret key labelled "${label}"`];
    const problems: string[] = [];
    for (const k of keys) {
      if (!k.token) problems.push(`${k.class} key "${label}" is a session object, not a token object`);
      if (!k.private) problems.push(`${k.class} key "${label}" is readable without login (CKA_PRIVATE false)`);
      if (!k.sensitive || !k.alwaysSensitive) problems.push(`${k.class} key "${label}" is or was not sensitive`);
      if (k.extractable || !k.neverExtractable) problems.push(`${k.class} key "${label}" is or was extractable`);
      if (!k.local) problems.push(`${k.class} key "${label}" was not generated inside the token (imported)`);
    }
    return problems;
  }

  private readonly extraSessions = new Set<Session>();

  /**
   * Another session on the same token, already logged in (the login is the token's, for the whole
   * process). For signing on several sessions at once (asynchronous C_Sign runs on libuv's worker
   * threads, one operation per session at a time); `closeSession` it when done, `close()` closes
   * any left.
   */
  openSession(): Session {
    const { SessionFlag } = graphene();
    const session = this.use((s) => s.slot.open(SessionFlag.RW_SESSION | SessionFlag.SERIAL_SESSION));
    this.extraSessions.add(session);
    return session;
  }

  closeSession(session: Session): void {
    if (!this.extraSessions.delete(session)) return;
    try {
      session.close();
    } catch {
      // the session is gone anyway
    }
  }

  /** Closes the session; the module is finalised when the last token of the process closes. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    for (const session of [...this.extraSessions]) this.closeSession(session);
    this.closed = true;
    openTokens--;
    const login = this.loadedModule.logins.get(this.serial);
    if (login) {
      login.sessions--;
      // Closing the last session of the token logs the process out of it.
      if (login.sessions <= 0) this.loadedModule.logins.delete(this.serial);
    }
    try {
      this.graphSession.close();
    } catch {
      // the session is gone anyway
    }
    releaseModule(this.loadedModule);
  }
}
