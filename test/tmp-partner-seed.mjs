import { openEventStore, createLogger, kafkaSettings } from '@registo/infra';
import { Mirror } from '@registo/producers';
import { createTestDatabase, enrollmentSubmitted, randomId } from '@registo/test';
const prefix = process.argv[2];
const db = await createTestDatabase();
const store = await openEventStore({ kind: 'postgres', url: db.url });
for (let i = 0; i < 5; i++) { const id = randomId(); await store.append(`enrollment-${id}`, [enrollmentSubmitted(id)], { expectedRevision: 'no_stream' }); }
const settings = { ...kafkaSettings(), prefix };
const mirror = new Mirror({ store, settings, logger: createLogger('warn') });
const running = mirror.run();
while (mirror.status().position < 5) await new Promise(r => setTimeout(r, 100));
await mirror.stop(); await running;
console.log(JSON.stringify(await store.readAll({ maxCount: 10 }), null, 1));
await store.close(); await db.drop();
