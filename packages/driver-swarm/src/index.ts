export { SwarmDriver, createSwarmDriver } from './swarm.driver.js';
export type { SwarmConnection } from './swarm-engine.client.js';
