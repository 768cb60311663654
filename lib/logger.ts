import { Logger } from '@aws-lambda-powertools/logger';

/** The one structured logger; level from POWERTOOLS_LOG_LEVEL or LOG_LEVEL. */
export const logger = new Logger({ serviceName: 'elecle-hello' });
