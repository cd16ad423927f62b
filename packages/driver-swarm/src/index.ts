export { SwarmDriver, createSwarmDriver, type SwarmDriverOptions } from './swarm.driver.js';
export type { SwarmReadModelOptions } from './swarm-read-model.js';
export type { SwarmConnection } from './swarm-engine.client.js';
