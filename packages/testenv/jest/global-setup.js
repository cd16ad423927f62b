// Integration tests need real backends; scripts/test-all.sh starts them and exports where they are.
// This only checks that the environment says so, so that a missing backend fails loudly at once.
export default async function globalSetup() {
  const missing = [];
  if (!process.env.DATABASE_URL) missing.push('DATABASE_URL (run packages/testenv/postgres/up.sh)');
  if (process.env.BERTH_SKIP_SWARM !== '1' && !process.env.BERTH_DOCKER_SOCKET)
    missing.push('BERTH_DOCKER_SOCKET (run packages/testenv/swarm/up.sh, or set BERTH_SKIP_SWARM=1)');
  if (process.env.BERTH_SKIP_KUBERNETES !== '1' && !process.env.BERTH_KUBECONFIG)
    missing.push('BERTH_KUBECONFIG (run packages/testenv/k8s/up.sh, or set BERTH_SKIP_KUBERNETES=1)');
  if (missing.length) {
    throw new Error(`integration tests need real backends; not set: ${missing.join(', ')}. Use \`npm run test:all\`, which starts them.`);
  }
}
