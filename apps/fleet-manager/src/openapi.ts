// Swagger UI at /docs, the OpenAPI document at /docs-json.
import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { ACTOR_HEADER } from './common/actor.js';

export function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('NetMirror fleet manager')
    .setDescription(
      `Device registry, enrollment and audit log. Mutating calls are recorded in the audit log under the ` +
        `operator named in the ${ACTOR_HEADER} header (authentication arrives with RBAC).`,
    )
    .setVersion('0.1.0')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}
