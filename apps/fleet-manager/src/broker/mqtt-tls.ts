// The embedded broker's mutual TLS (mqttTls): a node:tls server that demands
// a client certificate chaining to the fleet CA, and the aedes hooks that
// turn the certificate into an identity and confine it (mqtt-acl.ts).
// Refusals are logged with the client and the topic; a hook never throws
// into aedes.
import { createServer as createTlsServer, type Server, type TLSSocket } from 'node:tls';
import type { Logger } from '@nestjs/common';
import type { Aedes, AedesOptions, Client } from 'aedes';
import {
  describeIdentity,
  identityFromCertificate,
  MqttAcl,
  type MqttIdentity,
} from './mqtt-acl.js';

export interface TlsServerCredentials {
  ca: string;
  cert: string;
  key: string;
}

/** The names the broker's server certificate carries: its listen host and the loopback names. */
export function serverHostnames(host: string): string[] {
  const names = ['127.0.0.1', 'localhost', '::1'];
  const wildcard = host === '0.0.0.0' || host === '::' || host === '';
  if (!wildcard && !names.includes(host)) names.unshift(host);
  return names;
}

export function createMqttTlsServer(
  creds: TlsServerCredentials,
  aedes: Aedes,
  log: Logger,
): Server {
  const server = createTlsServer(
    {
      ca: creds.ca,
      cert: creds.cert,
      key: creds.key,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
    (socket) => aedes.handle(socket),
  );
  // A client without a certificate, or with one from another CA, fails the
  // handshake: Node destroys the socket; we only say so.
  server.on('tlsClientError', (err, socket) =>
    log.warn(`MQTT TLS handshake refused from ${socket.remoteAddress ?? '?'}: ${err.message}`),
  );
  return server;
}

/** aedes authenticate / authorizePublish / authorizeSubscribe for the fleet's mTLS policy. */
export function aedesAuthHooks(
  root: string,
  log: Logger,
): Pick<AedesOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe'> {
  const acl = new MqttAcl(root);
  const identities = new WeakMap<Client, MqttIdentity>();
  return {
    authenticate(client, _username, _password, done) {
      let refusal: string | null;
      let id: MqttIdentity | null = null;
      try {
        const socket = client.conn as TLSSocket;
        const peer =
          typeof socket.getPeerCertificate === 'function' && socket.authorized
            ? socket.getPeerCertificate()
            : null;
        id = identityFromCertificate(peer);
        refusal = acl.connectRefusal(id, client.id);
      } catch (err) {
        refusal = `cannot read the client certificate: ${(err as Error).message}`;
      }
      if (refusal === null && id) {
        identities.set(client, id);
        return done(null, true);
      }
      log.warn(`MQTT connect refused for client ${JSON.stringify(client.id)}: ${refusal}`);
      const err = Object.assign(new Error(refusal ?? 'not authorized'), {
        returnCode: id ? 2 : 5, // identifier rejected / not authorized
      });
      return done(err, false);
    },
    authorizePublish(client, packet, done) {
      // client null: the broker's own messages ($SYS). Called for Last Wills too.
      if (!client) return done(null);
      const id = identities.get(client);
      if (acl.mayPublish(id, packet.topic)) return done(null);
      log.warn(
        `MQTT publish refused: client ${JSON.stringify(client.id)} (${describeIdentity(id)}) to ${packet.topic}`,
      );
      return done(new Error(`not authorized to publish to ${packet.topic}`));
    },
    authorizeSubscribe(client, sub, done) {
      const id = identities.get(client);
      if (acl.maySubscribe(id, sub.topic)) return done(null, sub);
      log.warn(
        `MQTT subscribe refused: client ${JSON.stringify(client.id)} (${describeIdentity(id)}) to ${sub.topic}`,
      );
      return done(null, null); // SUBACK 0x80 for this filter; the session goes on
    },
  };
}
