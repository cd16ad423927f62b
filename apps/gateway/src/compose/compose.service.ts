import { Injectable } from '@nestjs/common';
import { type ComposeImport, importCompose } from '@berth/model';
import { BerthError } from '../common/errors.js';

const MAX_COMPOSE_BYTES = 512 * 1024;

@Injectable()
export class ComposeService {
  /**
   * Converts a Compose file into an AppSpec and the list of what it could not carry. With
   * `strict`, anything that could not be carried is an error instead of a warning.
   */
  convert(yaml: unknown, options: { name?: string; strict?: boolean }): ComposeImport {
    if (typeof yaml !== 'string' || yaml.trim() === '') {
      throw BerthError.invalid('expected a Compose file (YAML) as the request body, with Content-Type application/yaml');
    }
    if (Buffer.byteLength(yaml) > MAX_COMPOSE_BYTES) throw BerthError.invalid(`the Compose file is larger than ${MAX_COMPOSE_BYTES} bytes`);
    const result = importCompose(yaml, { name: options.name });
    if (options.strict && result.warnings.length > 0) {
      throw BerthError.invalid(`the Compose file has ${result.warnings.length} key(s) Berth cannot carry (strict import)`, result.warnings);
    }
    return result;
  }
}
