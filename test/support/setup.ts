// Node 20 lacks Promise.withResolvers, which aws-local-stepfunctions needs.
import '../../local/polyfills';

// Powertools Metrics would print an EMF line per invocation in tests.
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
