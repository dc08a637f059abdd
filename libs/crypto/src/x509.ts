// The one place @peculiar/x509 is loaded. It resolves its algorithm registry
// through tsyringe, which needs the Reflect metadata polyfill loaded first, and
// it signs through a WebCrypto provider, here Node's own.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

export { x509 };
