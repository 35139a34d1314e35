/**
 * The OpenAPI document's frame (@fastify/swagger builds its paths from the routes' schemas), and
 * the answers every route shares, which no single operation owns.
 */
const error = { $ref: '#/components/schemas/Error' } as const;
const json = (description: string, headers: Record<string, { description: string; schema: { type: 'string' } }> = {}) => ({
  description,
  ...(Object.keys(headers).length > 0 && { headers }),
  content: { 'application/json': { schema: error } },
});

/**
 * Answers given outside any operation: a path or method no route serves, a request Node cannot
 * parse, a server shutting down. Listed once here (and in the description) rather than on every
 * operation, since no operation of the document produces them.
 */
const sharedResponses = {
  MethodNotAllowed: json('405 METHOD_NOT_ALLOWED: a documented path asked with a method it does not serve; `Allow` lists those it does', {
    Allow: { description: 'The methods this path serves, e.g. `GET, HEAD, DELETE, OPTIONS`', schema: { type: 'string' } },
  }),
  RouteNotFound: json('404 ROUTE_NOT_FOUND: a path that is none of the documented ones'),
  MalformedRequest: json('400 BAD_HTTP_REQUEST, 408 REQUEST_TIMEOUT, 417 EXPECTATION_FAILED, 431 HEADERS_TOO_LARGE: a request that cannot be read; the connection is closed'),
  ShuttingDown: { description: '503 `SHUTTING_DOWN` with `Retry-After` and `Connection: close`: the server is shutting down and takes no new requests; retry (another instance, or this one once restarted)' },
};

const DESCRIPTION = [
  'Stores the images and videos a product catalogue shows and hands them back fast.',
  '',
  'Every error body is `{statusCode, error, code, message}` (schema `Error`); the message says what to do. Besides the answers listed on each operation, any request may get:',
  '- **405** `METHOD_NOT_ALLOWED` with an `Allow` header, for a method a documented path does not serve (`PUT /assets/{assetId}`, `POST /images/{file}`); a plain `OPTIONS` of such a path answers 204 with the same `Allow`;',
  '- **404** `ROUTE_NOT_FOUND` for a path that is not documented here;',
  '- **400 / 408 / 417 / 431** for a request that cannot be read, and **503** while the server shuts down.',
].join('\n');

export function openApiDocument(publicUrl: string | null) {
  return {
    openapi: '3.0.3',
    info: { title: 'AMS — Asset Management Service', version: '0.1.0', description: DESCRIPTION },
    servers: publicUrl === null ? [] : [{ url: publicUrl }],
    components: { securitySchemes: { bearer: { type: 'http' as const, scheme: 'bearer' } }, responses: sharedResponses },
  };
}
