// A minimal MQTT 3.1.1 liveness probe: TCP connect, CONNECT (clean session),
// wait for CONNACK with return code 0, DISCONNECT. Used by /health for an
// external broker; no MQTT client library is needed for this.
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';

function utf8Field(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

export function connectPacket(clientId: string, keepAliveSeconds = 10): Buffer {
  const variable = Buffer.concat([
    utf8Field('MQTT'),
    Buffer.from([4, 0x02]),
    Buffer.from([keepAliveSeconds >> 8, keepAliveSeconds & 0xff]),
  ]);
  const payload = utf8Field(clientId);
  const remaining = variable.length + payload.length; // < 128: one length byte
  return Buffer.concat([Buffer.from([0x10, remaining]), variable, payload]);
}

export interface ProbeResult {
  ok: boolean;
  error?: string;
}

export function probeMqtt(host: string, port: number, timeoutMs = 2000): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let got = Buffer.alloc(0);
    const finish = (r: ProbeResult): void => {
      clearTimeout(timer);
      socket.removeAllListeners('data');
      if (r.ok) socket.end(Buffer.from([0xe0, 0x00]));
      else socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(
      () => finish({ ok: false, error: `no CONNACK within ${timeoutMs} ms` }),
      timeoutMs,
    );
    socket.on('error', (e) => finish({ ok: false, error: e.message }));
    socket.on('connect', () =>
      socket.write(connectPacket(`nm-fm-probe-${randomBytes(4).toString('hex')}`)),
    );
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length < 4) return;
      if (got[0] !== 0x20)
        return finish({ ok: false, error: `unexpected packet type 0x${got[0].toString(16)}` });
      finish(got[3] === 0 ? { ok: true } : { ok: false, error: `CONNACK return code ${got[3]}` });
    });
  });
}
