/** Defaults the CLI needs without loading the config schema (start-up time). */
export const DEFAULT_SOCKET = '/run/vtepd/vtepd.sock';
export const DEFAULT_METRICS_LISTEN = '127.0.0.1:9580';
