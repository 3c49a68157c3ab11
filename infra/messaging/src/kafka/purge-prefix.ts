import type { Logger } from '@registo/base';
import { kafkaClient } from './client.js';
import type { KafkaSettings } from './settings.js';

/** What one topic prefix left on a Kafka cluster and its schema registry. */
export interface PrefixResources {
  topics: string[];
  groups: string[];
  subjects: string[];
}

/** A topic of the prefix: `<prefix>.<anything>` (categories, checkpoint, DLQs, retry steps). */
const ownsTopic = (prefix: string, topic: string): boolean => topic.startsWith(`${prefix}.`);

async function registry(url: string, path: string, method = 'GET'): Promise<Response> {
  return fetch(`${url.replace(/\/$/, '')}${path}`, { method, headers: { accept: 'application/vnd.schemaregistry.v1+json, application/json' } });
}

/**
 * Finds what a prefix owns: its topics (`<prefix>.…`), its value schemas in the registry
 * (`<prefix>.…-value`, soft-deleted ones included) and its consumer groups (`<prefix>-…`; a
 * group another prefix's topics have offsets in is not this prefix's, even if its name looks it).
 */
export async function findPrefixResources(settings: KafkaSettings, logger?: Logger): Promise<PrefixResources> {
  const { prefix } = settings;
  const admin = kafkaClient(settings, 'reset', logger).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => ownsTopic(prefix, t)).sort();
    const named = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(`${prefix}-`));
    const groups: string[] = [];
    for (const groupId of named) {
      const offsets = await admin.fetchOffsets({ groupId });
      if (offsets.every((o) => ownsTopic(prefix, o.topic))) groups.push(groupId);
    }
    const answer = await registry(settings.registryUrl, '/subjects?deleted=true');
    if (!answer.ok) throw new Error(`the schema registry ${settings.registryUrl} answered ${answer.status} to GET /subjects`);
    const subjects = ((await answer.json()) as string[]).filter((s) => s.startsWith(`${prefix}.`)).sort();
    return { topics, groups: groups.sort(), subjects };
  } finally {
    await admin.disconnect();
  }
}

/**
 * Deletes what `findPrefixResources` found: consumer groups first (a group must be empty: the
 * platform stopped), then topics, then each subject for good (Confluent's API, as Apicurio
 * answers it: a soft delete, then `?permanent=true`). Transactional ids cannot be deleted; the
 * broker expires them (`transactional.id.expiration.ms`) and a new mirror fences the old.
 */
export async function purgePrefix(settings: KafkaSettings, found: PrefixResources, logger?: Logger): Promise<void> {
  const admin = kafkaClient(settings, 'reset', logger).admin();
  await admin.connect();
  try {
    if (found.groups.length > 0) await admin.deleteGroups(found.groups);
    if (found.topics.length > 0) await admin.deleteTopics({ topics: found.topics, timeout: 30_000 });
  } finally {
    await admin.disconnect();
  }
  for (const subject of found.subjects) {
    const path = `/subjects/${encodeURIComponent(subject)}`;
    const soft = await registry(settings.registryUrl, path, 'DELETE');
    // 404: soft-deleted already (40404), or gone; the permanent delete says which.
    if (!soft.ok && soft.status !== 404) throw new Error(`the schema registry answered ${soft.status} to DELETE ${path}`);
    const hard = await registry(settings.registryUrl, `${path}?permanent=true`, 'DELETE');
    if (!hard.ok && hard.status !== 404) throw new Error(`the schema registry answered ${hard.status} to DELETE ${path}?permanent=true`);
  }
}
