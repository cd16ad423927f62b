import { describe, expect, it } from '@jest/globals';
import { composeAppName } from '../src/cli.js';

describe('the app name of a Compose file, as docker compose names its project', () => {
  const unnamed = 'services:\n  web:\n    image: nginx\n';
  it('takes --name first', () => {
    expect(composeAppName('name: shop\n' + unnamed, '/src/My Blog/compose.yaml', 'given')).toBe('given');
  });
  it('leaves a top-level name to the file', () => {
    expect(composeAppName('name: shop\n' + unnamed, '/src/blog/compose.yaml', undefined)).toBeUndefined();
  });
  it('names a file without one after its folder, as a DNS label', () => {
    expect(composeAppName(unnamed, '/src/My_Blog/docker-compose.yml', undefined)).toBe('my-blog');
    expect(composeAppName(unnamed, 'compose.yaml', undefined, '/work/shop')).toBe('shop');
  });
  it('names stdin after the current folder', () => {
    expect(composeAppName(unnamed, '-', undefined, '/home/ci/checkout')).toBe('checkout');
  });
});
