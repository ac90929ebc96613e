// Imported first by the embedded stack: Powertools reads these when its module-scope Logger and
// Metrics are constructed, which happens as soon as a handler module is imported. Locally, logs
// stay at warnings and metrics (CloudWatch EMF lines) are off unless asked for.
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_SERVICE_NAME ??= 'code-factory-local';
export {};
