// The REST API's base URL from its HTTP server's address: what
// startFleetManager() returns as FleetManagerHandle.url, and the download
// base a gRPC StartFirmwareUpdate gives devices when publicUrl is not set.
import type { Server } from 'node:http';

/** e.g. http://127.0.0.1:8080; null while the server is not listening. */
export function listeningUrl(server: Server): string | null {
  const address = server.address();
  if (address === null || typeof address === 'string') return null;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
