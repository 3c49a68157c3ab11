import { readVariables } from '@registo/base';

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

const KAFKA_VARIABLES = ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'REGISTO_KAFKA_PORT', 'REGISTO_REGISTRY_PORT', 'KAFKA_CLIENT_ID', 'REGISTO_TOPIC_PREFIX', 'REGISTO_TOPIC_PARTITIONS'] as const;

export function kafkaSettings(env: NodeJS.ProcessEnv = process.env): KafkaSettings {
  const c = readVariables(KAFKA_VARIABLES, env);
  return {
    brokers: (c.KAFKA_BROKERS ?? `127.0.0.1:${c.REGISTO_KAFKA_PORT}`).split(',').map((b) => b.trim()).filter(Boolean),
    registryUrl: c.SCHEMA_REGISTRY_URL ?? `http://127.0.0.1:${c.REGISTO_REGISTRY_PORT}/apis/ccompat/v7`,
    clientId: c.KAFKA_CLIENT_ID,
    partitions: c.REGISTO_TOPIC_PARTITIONS,
    prefix: c.REGISTO_TOPIC_PREFIX,
  };
}
