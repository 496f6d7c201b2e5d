/** The NameServer's own version (from package.json). */
import pkg from '../../package.json';

export const SERVER_VERSION: string = pkg.version;
