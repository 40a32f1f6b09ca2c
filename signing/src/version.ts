// The release version of minerhaul (agent and tools ship together); a test keeps it equal to package.json.
export const MINERHAUL_VERSION = '0.1.0';
