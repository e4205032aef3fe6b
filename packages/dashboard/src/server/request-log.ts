/**
 * The request log (`--log`): Fastify's pino logger, with the token of `/?token=` redacted from the URLs it
 * writes, so that the log never holds the secret.
 * @module
 */
import type { FastifyRequest, FastifyServerOptions } from 'fastify';

/** The `logger` option of Fastify: off, or on with the token redacted. */
export function requestLogger(enabled: boolean): FastifyServerOptions['logger'] {
  if (!enabled) return false;
  return {
    serializers: {
      // the fields Fastify logs by default (less accept-version), with the URL redacted
      req: (req: FastifyRequest) => ({
        method: req.method,
        url: redactToken(req.url),
        host: req.host,
        remoteAddress: req.ip,
        remotePort: req.socket?.remotePort,
      }),
    },
  };
}

/** The URL with the value of every `token` query parameter (however its name is encoded) replaced. */
export function redactToken(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = url
    .slice(q + 1)
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      const key = eq < 0 ? part : part.slice(0, eq);
      return decodeKey(key) === 'token' ? `${key}=[redacted]` : part;
    });
  return `${url.slice(0, q)}?${params.join('&')}`;
}

function decodeKey(key: string): string {
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    return key;
  }
}
