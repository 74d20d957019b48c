// Compatibility with the official asyngular-client 6 (protocol v2, path /socketcluster/).
import { ADAPTERS } from './clients.mjs';
import { compatSuite } from './scenario.mjs';

compatSuite(ADAPTERS.asyngular());
