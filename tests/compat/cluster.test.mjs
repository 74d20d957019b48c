// The compatibility scenario (scenario.mjs) against a cluster: agcluster
// --workers=2 --brokers=2, every client on the shared port, so that clients
// land on either worker (SO_REUSEPORT) and publishes cross workers through
// the brokers. For socketcluster-client 20, asyngular-client 6, and
// socketcluster-client 14 (the cluster runs with --protocol-version=1).
// agcluster has no reference equivalent: skipped with AG_TARGET=reference.

import { describe, test } from 'node:test';

import { SKIP_ON_REFERENCE } from '../lib/harness.mjs';
import { ADAPTERS } from './clients.mjs';
import { compatSuite } from './scenario.mjs';

const target = {
	kind: 'agcluster',
	serverOptions: { workers: 2, brokers: 2 },
	label: ' via agcluster --workers=2 --brokers=2',
};

if (SKIP_ON_REFERENCE) {
	describe('the compatibility scenario via agcluster', { skip: SKIP_ON_REFERENCE }, () => {
		test('runs for every client', () => {});
	});
} else {
	for (const name of ['sc20', 'asyngular', 'sc14']) {
		compatSuite(ADAPTERS[name](), target);
	}
}
