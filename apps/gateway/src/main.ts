import v8 from 'node:v8';

// Start-up allocates tens of MB that live for the whole process (the modules, Nest's container, the
// GraphQL schema), and V8 answers a young generation in which most objects survive by doubling it, up to
// 2 x 16 MB. Nothing shrinks it again until the heap has been idle for a while (about 30 s here), so a
// freshly started gateway held ~30 MB of empty young generation. Start-up runs with the growth factor
// at 1 (the young generation stays at its initial size); it is back at V8's default (2) once the gateway
// listens, so under load the young generation grows as usual.
v8.setFlagsFromString('--semi-space-growth-factor=1');
const { serve } = await import('./server.js');
await serve();
v8.setFlagsFromString('--semi-space-growth-factor=2');
