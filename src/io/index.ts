/**
 * The shared-memory ABI: ring.h (shared rings and their macros), netif.h (network ring slots),
 * the Xen constants and struct layouts the hypervisor model uses, and ring-page inspection.
 *
 * Hot paths should import from './ring' and './netif' directly: CommonJS `export *` turns every
 * name here into a getter, which measured ~4x slower per ring operation in src/bench/ring.ts.
 */
export * from './xen-constants';
export * from './ring';
export * from './netif';
export * from './inspect';
