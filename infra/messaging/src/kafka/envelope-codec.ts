import avro from 'avsc';
import { SchemaRegistry, COMPATIBILITY } from '@kafkajs/confluent-schema-registry';
import { type Category, type EventEnvelope, type SchemaCatalog, schemaCatalog, parseStreamId } from '@registo/schemas';
import { DEFAULT_PREFIX, categoryTopic } from './topics.js';

/**
 * The Avro value schema of a category topic: the envelope with `data` as the union of the
 * category's event types. Self-contained (shared named types inlined) so that any client,
 * kcat included, can decode with nothing but the registry.
 */
export function topicValueSchema(category: Category, catalog: SchemaCatalog = schemaCatalog()): avro.Schema {
  const types = catalog.typesOf(category);
  if (types.length === 0) throw new Error(`category ${category} has no event types yet`);
  const envelope = structuredClone(catalog.envelopeSchema) as { fields: Array<{ name: string; type: unknown }> };
  envelope.fields = envelope.fields.map((f) => (f.name === 'data' ? { ...f, type: types.map((t) => t.schema) } : f));
  const type = avro.Type.forSchema(envelope as unknown as avro.Schema, { registry: { ...catalog.common } });
  return type.schema({ exportAttrs: true }) as avro.Schema;
}

const recordName = (category: string, type: string): string => `registo.${category}.${type}`;

/** Whether the envelope type's `data` union is written wrapped (`{ <record name>: value }`). */
function isWrappedUnion(envelope: avro.Type): boolean {
  return (envelope as avro.types.RecordType).field('data')?.type.typeName === 'union:wrapped';
}

export interface RegisteredTopic {
  topic: string;
  subject: string;
  schemaId: number;
}

/**
 * Envelope ↔ Confluent wire format (magic byte, schema id, Avro body). Registers each
 * category's value schema under `<topic>-value` with BACKWARD compatibility.
 */
export class EnvelopeCodec {
  readonly registry: SchemaRegistry;
  private readonly writers = new Map<Category, { type: avro.Type; header: Buffer }>();

  constructor(
    readonly registryUrl: string,
    private readonly prefix: string = DEFAULT_PREFIX,
    private readonly catalog: SchemaCatalog = schemaCatalog(),
  ) {
    this.registry = new SchemaRegistry({ host: registryUrl, retry: { retries: 5 } });
  }

  /** Registers (idempotently) the value schema of every category that has event types. */
  async registerAll(categories: readonly Category[]): Promise<RegisteredTopic[]> {
    const out: RegisteredTopic[] = [];
    for (const category of categories) {
      if (this.catalog.typesOf(category).length === 0) continue;
      const topic = categoryTopic(category, this.prefix);
      const subject = `${topic}-value`;
      const { id } = await this.registry.register(
        { type: 'AVRO' as never, schema: JSON.stringify(topicValueSchema(category, this.catalog)) } as never,
        { subject, compatibility: COMPATIBILITY.BACKWARD },
      );
      // Encode with the exact schema just registered; the registry client's own encode
      // validates every record again, which append-time validation already did.
      const header = Buffer.alloc(5);
      header.writeUInt32BE(id, 1);
      this.writers.set(category, { type: avro.Type.forSchema(topicValueSchema(category, this.catalog)), header });
      out.push({ topic, subject, schemaId: id });
    }
    return out;
  }

  /** Confluent wire format: magic byte 0, schema id (big-endian), Avro body. */
  encode(e: EventEnvelope): Buffer {
    const { category } = parseStreamId(e.streamId);
    const writer = this.writers.get(category);
    if (!writer) throw new Error(`no registered schema for category ${category}; call registerAll first`);
    // avsc leaves a union unwrapped when its branches cannot be confused: a category with a single
    // event type has a one-record union, written as the bare record.
    const data = isWrappedUnion(writer.type) ? { [recordName(category, e.type)]: e.data } : e.data;
    return Buffer.concat([writer.header, writer.type.toBuffer({ ...e, data })]);
  }

  /** Decodes with the writer's schema (fetched by id, cached) back to the stored envelope. */
  async decode(value: Buffer): Promise<EventEnvelope> {
    // The writer's schema is the envelope's Avro schema, so the decoded value has the envelope's
    // shape; its data is still untyped here and is checked by category where it is read (isEventOf).
    const decoded = JSON.parse(JSON.stringify(await this.registry.decode(value))) as EventEnvelope & { data: Record<string, Record<string, unknown>> };
    // Wrapped: `{ "registo.<category>.<Type>": {...} }` (Avro field names never hold a dot);
    // otherwise the writer's union had one branch and `data` is the record itself.
    const keys = Object.keys(decoded.data ?? {});
    if (keys.length === 1 && keys[0]!.startsWith('registo.')) return { ...decoded, data: decoded.data[keys[0]!] ?? {} };
    return { ...decoded, data: decoded.data ?? {} };
  }
}
