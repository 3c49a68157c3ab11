// The event fixtures live in @registo/fixtures, shared with the benchmarks and infra's own tests.
export { enrollmentSubmitted, packetValidated, randomId } from '@registo/fixtures';
