// Provides the one TypeORM DataSource (token: the DataSource class), opened
// from the configured URL with migrations applied, and closed on shutdown.
// We do not use @nestjs/typeorm's TypeOrmModule: services need the DataSource
// itself for transactions (audit rows in the same transaction), and a plain
// factory fails fast instead of TypeOrmModule's connection retry loop.
import { Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { FLEET_CONFIG, type FleetConfig } from '../config.js';
import { openDataSource } from './data-source.js';

@Injectable()
class DataSourceCloser implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly ds: DataSource) {}
  async onApplicationShutdown(): Promise<void> {
    if (this.ds.isInitialized) await this.ds.destroy();
  }
}

@Global()
@Module({
  providers: [
    {
      provide: DataSource,
      inject: [FLEET_CONFIG],
      useFactory: (config: FleetConfig): Promise<DataSource> => openDataSource(config.databaseUrl),
    },
    DataSourceCloser,
  ],
  exports: [DataSource],
})
export class DatabaseModule {}
