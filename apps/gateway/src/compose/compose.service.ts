import { Injectable } from '@nestjs/common';
import { type ComposeImport, type ComposeImportOptions, importCompose, parseOrThrow } from '@berth/model';
import { BerthError } from '../common/errors.js';
import { ComposeConvertRequest } from './compose.schemas.js';

const MAX_COMPOSE_BYTES = 512 * 1024;

@Injectable()
export class ComposeService {
  /**
   * Converts a Compose file into an AppSpec and its conversion report. With `strict`, any key not
   * carried as written is an error instead.
   */
  convert(yaml: unknown, options: ComposeImportOptions & { strict?: boolean }): ComposeImport {
    if (typeof yaml !== 'string' || yaml.trim() === '') {
      throw BerthError.invalid('expected a Compose file (YAML) as the request body, with Content-Type application/yaml');
    }
    const size = Buffer.byteLength(yaml) + Object.values(options.files ?? {}).reduce((n, f) => n + Buffer.byteLength(f), 0);
    if (size > MAX_COMPOSE_BYTES) throw BerthError.invalid(`the Compose file and its files are larger than ${MAX_COMPOSE_BYTES} bytes`);
    const { strict, ...importOptions } = options;
    const result = importCompose(yaml, importOptions);
    if (strict && result.warnings.length > 0) {
      throw BerthError.invalid(`the Compose file has ${result.warnings.length} key(s) Berth cannot carry as written (strict import)`, result.warnings);
    }
    return result;
  }

  /** A JSON convert request: the file and its import options in one body. */
  convertRequest(body: unknown): ComposeImport {
    const { compose, ...options } = parseOrThrow(ComposeConvertRequest, body, 'Compose convert request');
    return this.convert(compose, options);
  }
}
