// Compatibility with the official socketcluster-client 20 (protocol v2).
import { ADAPTERS } from './clients.mjs';
import { compatSuite } from './scenario.mjs';

compatSuite(ADAPTERS.sc20());
