/** The package version, reported by `sluice -v`, the connect result and later the API. */
export const VERSION = "0.1.0";
