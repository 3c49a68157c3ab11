/** Where Kafka and the schema registry are, from the environment (the local defaults of `registo infra up`). */
export interface KafkaSettings {
  brokers: string[];
  registryUrl: string;
  clientId: string;
  /** Partitions of each category topic when the mirror creates it. */
  partitions: number;
  /**
   * First part of every topic, consumer group and transactional id (default `registo`):
   * lets several logs (tests, environments) share one cluster without meeting.
   */
  prefix: string;
}

export function kafkaSettings(env: NodeJS.ProcessEnv = process.env): KafkaSettings {
  const partitions = Number(env.REGISTO_TOPIC_PARTITIONS ?? 6);
  if (env.REGISTO_TOPIC_PREFIX !== undefined && !/^[a-z][a-z0-9_-]{0,40}$/.test(env.REGISTO_TOPIC_PREFIX)) {
    throw new Error(`REGISTO_TOPIC_PREFIX must be lower-case letters, digits, '_' or '-', got ${env.REGISTO_TOPIC_PREFIX}`);
  }
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 1000) {
    throw new Error(`REGISTO_TOPIC_PARTITIONS must be a whole number from 1 to 1000, got ${env.REGISTO_TOPIC_PARTITIONS}`);
  }
  return {
    brokers: (env.KAFKA_BROKERS ?? `127.0.0.1:${env.REGISTO_KAFKA_PORT ?? 9092}`).split(',').map((b) => b.trim()).filter(Boolean),
    registryUrl: env.SCHEMA_REGISTRY_URL ?? `http://127.0.0.1:${env.REGISTO_REGISTRY_PORT ?? 8081}/apis/ccompat/v7`,
    clientId: env.KAFKA_CLIENT_ID ?? 'registo',
    partitions,
    prefix: env.REGISTO_TOPIC_PREFIX ?? 'registo',
  };
}
