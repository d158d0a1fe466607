import { Module } from '@nestjs/common';

/**
 * The BullMQ processors. Imported by the worker entry point, and by the API process when
 * RUN_WORKERS is on; each feature adds its processors here.
 */
@Module({
  imports: [],
  providers: [],
})
export class WorkersModule {}
