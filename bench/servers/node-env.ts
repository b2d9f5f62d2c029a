/** The OTPGATE_ settings of a benchmarked otpgate node on PostgreSQL, delivering through a local custom gateway. */
export function pgNodeEnv(o: { dbUrl: string; adminKey: string; secretKey: string; dataDir: string; gatewayUri: string; gatewayKey: string; logLevel: string }): Record<string, string> {
  return {
    OTPGATE_DATABASE_URL: o.dbUrl,
    OTPGATE_ADMIN_KEY: o.adminKey,
    OTPGATE_SECRET_KEY: o.secretKey,
    OTPGATE_DATA_DIR: o.dataDir,
    OTPGATE_HOST: '127.0.0.1',
    OTPGATE_PORT: '0',
    OTPGATE_LOG_LEVEL: o.logLevel,
    OTPGATE_DEFAULT_PROVIDER: 'CustomGateway',
    OTPGATE_DEFAULT_PROVIDER_CONFIG: JSON.stringify({ uri: o.gatewayUri, api_key: o.gatewayKey }),
  };
}
