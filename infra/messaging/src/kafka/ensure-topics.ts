import type { Admin, ITopicConfig } from 'kafkajs';

/** How long a new topic may take to show a leader for every partition. */
const LEADERS_TIMEOUT_MS = 30_000;

function isRetriable(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const { retriable, type } = e as { retriable?: unknown; type?: unknown };
  return retriable === true || type === 'UNKNOWN_TOPIC_OR_PARTITION' || type === 'LEADER_NOT_AVAILABLE';
}

/**
 * Creates the topics (those already there are left as they are) and waits until every
 * partition of each has a leader. kafkajs' own `waitForLeaders` gives up on the first
 * "This server does not host this topic-partition": a KRaft broker answers that for a moment
 * after creating a topic, until the new metadata reaches its cache. Here that answer, like any
 * retriable one, means "ask again".
 */
export async function ensureTopics(admin: Admin, topics: ITopicConfig[], timeoutMs = LEADERS_TIMEOUT_MS): Promise<void> {
  await admin.createTopics({ waitForLeaders: false, topics });
  const names = topics.map((t) => t.topic);
  const deadline = Date.now() + timeoutMs;
  for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
    try {
      const { topics: found } = await admin.fetchTopicMetadata({ topics: names });
      const led = found.filter((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
      if (led.length === names.length) return;
    } catch (e) {
      if (!isRetriable(e)) throw e;
    }
    if (Date.now() > deadline) throw new Error(`topics without a leader after ${timeoutMs} ms: ${names.join(', ')}`);
    await new Promise((r) => setTimeout(r, delay));
  }
}
