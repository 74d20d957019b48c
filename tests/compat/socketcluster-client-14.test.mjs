// Compatibility with the official socketcluster-client 14 (protocol v1; servers run with --protocol-version=1).
import { ADAPTERS } from './clients.mjs';
import { compatSuite } from './scenario.mjs';

compatSuite(ADAPTERS.sc14());
