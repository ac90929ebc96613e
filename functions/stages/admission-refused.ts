import { FactoryError } from '../shared/errors';

/** A run that cannot proceed, refused at admit with a reason people can act on. */
export class AdmissionRefusedError extends FactoryError {
  constructor(code: string, message: string) {
    super(code, message, { expose: true });
  }
}
